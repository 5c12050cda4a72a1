# escape=`

FROM mcr.microsoft.com/windows/servercore
WORKDIR C:\app
COPY . C:\app\
RUN powershell -Command `
    Write-Host "line one"; `
    Write-Host "line two"
ENV DIR=C:\tools PATH="C:\a b;C:\c"
RUN echo a\ `
  b

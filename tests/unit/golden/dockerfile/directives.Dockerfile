#   SYNTAX = docker/dockerfile:1.7
# Check=skip=JSONArgsRecommended
# escape=\
# a plain comment ends the directive block
# escape=`
FROM scratch
# syntax=ignored/after/instruction
COPY a b

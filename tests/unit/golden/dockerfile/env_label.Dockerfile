FROM busybox
ENV A=1
ENV B="two words" C=three\ words D='single quoted'
ENV E legacy form with   spaces
ENV F=
ENV G=""
ENV H=$A I=${B:-default}
LABEL "com.example.vendor"="ACME Incorporated"
LABEL multi.label1="value1" \
      multi.label2="value2" other="value3"
LABEL legacy value with spaces
ARG X
ARG Y=1 Z="quoted value"
ARG EMPTY=

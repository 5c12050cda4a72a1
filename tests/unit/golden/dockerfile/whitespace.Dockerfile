   from   busybox    as   Stage-One
 run  echo   "keep   inner   spacing"
	env	KEY=value
copy   --chown=1:1    a   b
Cmd echo mixed case
workDir /tmp
expose 80   443

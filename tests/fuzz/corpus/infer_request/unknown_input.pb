
nobody*
UNKNOWNFP32
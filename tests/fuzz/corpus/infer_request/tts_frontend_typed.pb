
tts_frontend*"
TEXTBYTES*BhelloBwörld

	fastpitchseed"
timeoutsoon*
INPUT__0INT64*2
	OUTPUT__02
	OUTPUT__0
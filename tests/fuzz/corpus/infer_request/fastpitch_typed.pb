
	fastpitchseed*
INPUT__0INT64*
2
	OUTPUT__0
package securefs

// errnoOf finds no error number: Plan 9's errors are strings.
func errnoOf(error) (uintptr, bool) { return 0, false }

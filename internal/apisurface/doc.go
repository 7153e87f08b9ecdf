// Package apisurface counts the exported names of the packages a bot
// imports (session, session/isv, session/settings, keystore and its
// backends), so that the API stays small: its test fails when the count
// grows past the budget. It has no code of its own.
package apisurface

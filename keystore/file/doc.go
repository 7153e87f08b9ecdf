// Package file is the keystore backend of plain files, used only when the
// user asks for it (--keystore file or PMX_KEYSTORE=file): one JSON file
// per session under [DefaultDir] (os.UserConfigDir()/pmx-login, so
// XDG_CONFIG_HOME moves it), mode 0600 in 0700 directories, one directory
// per environment, written to a temporary file and renamed into place
// under a cross-process lock, so that a CLI and a bot sharing a session
// never see a torn record.
//
// The file keeps the refresh token in plain text on disk, protected only
// by file permissions: a file that group or others can read, or that
// another user owns, is refused ([keystore.ErrInsecure]), and no symbolic
// link is followed.
package file

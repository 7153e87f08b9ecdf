// Package securefs holds the file-system code the keystore's file and
// keyring backends share: cross-process lock files, owner and permission
// checks, and atomic writes of files only their owner can read.
package securefs

package session

import (
	"fmt"
	"strconv"
)

// fileOptions are the options of NewFileStore that the memory store does
// not take: the reference file storage's prefix and suffix.
type fileOptions struct {
	prefix, suffix string
}

// Longest prefix and suffix a FileStore takes: with the longest cookie name
// and key they keep every file name within the 255 bytes of common file
// systems.
const (
	fileMaxPrefix = 64
	fileMaxSuffix = 32
)

// WithFilePrefix sets the prefix of a FileStore's file names, the option
// prefix of the reference's file storage: a record is kept in
// "<prefix>_<name>_<key>", the subject index in
// "<prefix>_<name>_<audience>:<subject>". The empty string, the default,
// means no prefix ("<name>_<key>"), as in the reference. A prefix is at
// most 64 bytes of printable ASCII without spaces, '/', '\' or ':'; any
// other is an error matching ErrInvalidConfig.
//
// It applies to NewFileStore only.
func WithFilePrefix(prefix string) StoreOption {
	return func(o *storeOptions) {
		o.fileOnly = append(o.fileOnly, "WithFilePrefix")
		if err := checkFileAffix(prefix, fileMaxPrefix); err != "" {
			o.bad = append(o.bad, fmt.Sprintf("WithFilePrefix(%s): %s", strconv.Quote(prefix), err))
			return
		}
		o.file.prefix = prefix
	}
}

// WithFileSuffix sets the suffix of a FileStore's file names, the option
// suffix of the reference's file storage (an extension without its dot):
// with "sess" a record is kept in "<name>_<key>.sess". The empty string, the
// default, means none. A suffix is at most 32 bytes of printable ASCII
// without spaces, '/', '\' or ':'; any other is an error matching
// ErrInvalidConfig.
//
// It applies to NewFileStore only.
func WithFileSuffix(suffix string) StoreOption {
	return func(o *storeOptions) {
		o.fileOnly = append(o.fileOnly, "WithFileSuffix")
		if err := checkFileAffix(suffix, fileMaxSuffix); err != "" {
			o.bad = append(o.bad, fmt.Sprintf("WithFileSuffix(%s): %s", strconv.Quote(suffix), err))
			return
		}
		o.file.suffix = suffix
	}
}

// checkFileAffix returns why a prefix or suffix cannot be part of a file
// name, or "" when it can.
func checkFileAffix(p string, maxLen int) string {
	if len(p) > maxLen {
		return "longer than " + strconv.Itoa(maxLen) + " bytes"
	}
	for i := 0; i < len(p); i++ {
		if !fileNameByte(p[i]) || p[i] == ':' {
			return "not printable ASCII without spaces, '/', '\\' or ':'"
		}
	}
	return ""
}

// fileNameByte reports whether c may appear in a part of a file name:
// printable ASCII but space, '/' and '\'.
func fileNameByte(c byte) bool {
	return c > ' ' && c < 0x7f && c != '/' && c != '\\'
}

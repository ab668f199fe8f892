package dockerconf

import "strings"

// EnvAssign is one VAR=VALUE with the line it starts on.
type EnvAssign struct {
	Name, Value string
	Line        int
}

// shellNeedEscape are the characters a backslash escapes inside double quotes of an
// environment file (systemd's SHELL_NEED_ESCAPE); before others it stays.
const shellNeedEscape = "\"\\`$"

// envState is the state of the environment file parser.
type envState int

const (
	envPreKey envState = iota
	envKey
	envPreValue
	envValue
	envValueEscape
	envSingle
	envDouble
	envDoubleEscape
	envComment
	envCommentEscape
)

// ParseEnvFile parses an EnvironmentFile= file exactly as systemd 252's load_env_file
// does (src/basic/env-file.c, parse_env_file_internal): '#' or ';' first on a line
// starts a comment; KEY=VALUE with blanks around the key and after '=' dropped; single
// quotes keep everything; double quotes unescape only \" \\ \` \$ (a backslash before
// anything else stays); outside quotes a backslash keeps the next character and a
// backslash-newline joins lines; trailing blanks of an unquoted value are dropped; a
// line without '=' is ignored. Assignments whose name is not a valid variable name
// are dropped, as systemd drops them from the environment it passes on (an "export "
// prefix makes the name invalid).
func ParseEnvFile(data string) []EnvAssign {
	var (
		out             []EnvAssign
		key, value      strings.Builder
		lastKeyWS       = -1
		lastValWS       = -1
		line, startLine = 1, 1
		st              = envPreKey
	)
	push := func() {
		k := key.String()
		if lastKeyWS >= 0 {
			k = k[:lastKeyWS]
		}
		v := value.String()
		if st == envValue && lastValWS >= 0 {
			v = v[:lastValWS]
		}
		if envNameValid(k) && envValueValid(v) {
			out = append(out, EnvAssign{Name: k, Value: v, Line: startLine})
		}
		key.Reset()
		value.Reset()
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		nl := c == '\n' || c == '\r'
		ws := strings.IndexByte(sdWhitespace, c) >= 0
		switch st {
		case envPreKey:
			if c == '#' || c == ';' {
				st = envComment
			} else if !ws {
				st, lastKeyWS, startLine = envKey, -1, line
				key.WriteByte(c)
			}
		case envKey:
			switch {
			case nl:
				st = envPreKey
				key.Reset()
			case c == '=':
				st, lastValWS = envPreValue, -1
			default:
				if !ws {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = key.Len()
				}
				key.WriteByte(c)
			}
		case envPreValue:
			switch {
			case nl:
				push()
				st = envPreKey
			case c == '\'':
				st = envSingle
			case c == '"':
				st = envDouble
			case c == '\\':
				st = envValueEscape
			case !ws:
				st = envValue
				value.WriteByte(c)
			}
		case envValue:
			switch {
			case nl:
				push()
				st = envPreKey
			case c == '\\':
				st, lastValWS = envValueEscape, -1
			default:
				if !ws {
					lastValWS = -1
				} else if lastValWS < 0 {
					lastValWS = value.Len()
				}
				value.WriteByte(c)
			}
		case envValueEscape:
			st = envValue
			if !nl {
				value.WriteByte(c)
			}
		case envSingle:
			if c == '\'' {
				st = envPreValue
			} else {
				value.WriteByte(c)
			}
		case envDouble:
			if c == '"' {
				st = envPreValue
			} else if c == '\\' {
				st = envDoubleEscape
			} else {
				value.WriteByte(c)
			}
		case envDoubleEscape:
			st = envDouble
			if strings.IndexByte(shellNeedEscape, c) >= 0 {
				value.WriteByte(c)
			} else if c != '\n' {
				value.WriteByte('\\')
				value.WriteByte(c)
			}
		case envComment:
			if c == '\\' {
				st = envCommentEscape
			} else if nl {
				st = envPreKey
			}
		case envCommentEscape:
			st = envComment
		}
		if c == '\n' {
			line++
		}
	}
	switch st {
	case envPreValue, envValue, envValueEscape, envSingle, envDouble, envDoubleEscape:
		push()
	}
	return out
}

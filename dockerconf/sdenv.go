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
	p := &envParser{lastKeyWS: -1, lastValWS: -1, line: 1, startLine: 1}
	for i := 0; i < len(data); i++ {
		p.step(data[i])
		if data[i] == '\n' {
			p.line++
		}
	}
	switch p.st {
	case envPreValue, envValue, envValueEscape, envSingle, envDouble, envDoubleEscape:
		p.push()
	}
	return p.out
}

// envParser is the state of ParseEnvFile.
type envParser struct {
	out                  []EnvAssign
	key, value           strings.Builder
	lastKeyWS, lastValWS int
	line, startLine      int
	st                   envState
}

// push records the assignment read so far.
func (p *envParser) push() {
	k := p.key.String()
	if p.lastKeyWS >= 0 {
		k = k[:p.lastKeyWS]
	}
	v := p.value.String()
	if p.st == envValue && p.lastValWS >= 0 {
		v = v[:p.lastValWS]
	}
	if envNameValid(k) && envValueValid(v) {
		p.out = append(p.out, EnvAssign{Name: k, Value: v, Line: p.startLine})
	}
	p.key.Reset()
	p.value.Reset()
}

// step feeds one byte to the state machine.
func (p *envParser) step(c byte) {
	nl := c == '\n' || c == '\r'
	ws := strings.IndexByte(sdWhitespace, c) >= 0
	switch p.st {
	case envPreKey:
		if c == '#' || c == ';' {
			p.st = envComment
		} else if !ws {
			p.st, p.lastKeyWS, p.startLine = envKey, -1, p.line
			p.key.WriteByte(c)
		}
	case envKey:
		switch {
		case nl:
			p.st = envPreKey
			p.key.Reset()
		case c == '=':
			p.st, p.lastValWS = envPreValue, -1
		default:
			if !ws {
				p.lastKeyWS = -1
			} else if p.lastKeyWS < 0 {
				p.lastKeyWS = p.key.Len()
			}
			p.key.WriteByte(c)
		}
	case envPreValue:
		switch {
		case nl:
			p.push()
			p.st = envPreKey
		case c == '\'':
			p.st = envSingle
		case c == '"':
			p.st = envDouble
		case c == '\\':
			p.st = envValueEscape
		case !ws:
			p.st = envValue
			p.value.WriteByte(c)
		}
	case envValue:
		switch {
		case nl:
			p.push()
			p.st = envPreKey
		case c == '\\':
			p.st, p.lastValWS = envValueEscape, -1
		default:
			if !ws {
				p.lastValWS = -1
			} else if p.lastValWS < 0 {
				p.lastValWS = p.value.Len()
			}
			p.value.WriteByte(c)
		}
	default:
		p.stepQuotedOrComment(c, nl)
	}
}

// stepQuotedOrComment handles the escape, quote and comment states.
func (p *envParser) stepQuotedOrComment(c byte, nl bool) {
	switch p.st {
	case envValueEscape:
		p.st = envValue
		if !nl {
			p.value.WriteByte(c)
		}
	case envSingle:
		if c == '\'' {
			p.st = envPreValue
		} else {
			p.value.WriteByte(c)
		}
	case envDouble:
		if c == '"' {
			p.st = envPreValue
		} else if c == '\\' {
			p.st = envDoubleEscape
		} else {
			p.value.WriteByte(c)
		}
	case envDoubleEscape:
		p.st = envDouble
		if strings.IndexByte(shellNeedEscape, c) >= 0 {
			p.value.WriteByte(c)
		} else if c != '\n' {
			p.value.WriteByte('\\')
			p.value.WriteByte(c)
		}
	case envComment:
		if c == '\\' {
			p.st = envCommentEscape
		} else if nl {
			p.st = envPreKey
		}
	case envCommentEscape:
		p.st = envComment
	}
}

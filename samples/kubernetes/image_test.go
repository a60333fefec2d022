package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: its keyword (upper case) and the rest of its
// logical line, continuation lines joined.
type instruction struct {
	line    int
	keyword string
	args    string
}

// parseDockerfile reads a Dockerfile's instructions, plainly: comments and blank lines
// dropped, a line ending in a backslash joined with the next.
func parseDockerfile(data string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(data, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(trimmed, `\`)) + " ")
			continue
		}
		cur.WriteString(trimmed)
		keyword, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(keyword), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// labelPairs splits a LABEL instruction's arguments into key=value pairs, values
// unquoted.
func labelPairs(args string) (map[string]string, error) {
	pairs := map[string]string{}
	for rest := strings.TrimSpace(args); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, strconv.ErrSyntax
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			quoted, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, err
			}
			if value, err = strconv.Unquote(quoted); err != nil {
				return nil, err
			}
			rest = after[len(quoted):]
		} else {
			value, rest, _ = strings.Cut(after, " ")
		}
		pairs[key] = value
	}
	return pairs, nil
}

var numericUser = regexp.MustCompile(`^[1-9][0-9]*(:[0-9]+)?$`)

// TestDockerfile checks what running the image relies on: the final stage runs as a
// numeric non-root user (so that Kubernetes' runAsNonRoot can check it without reading
// /etc/passwd), its ENTRYPOINT is exec form (the binary is PID 1 and gets SIGTERM
// itself), the binary is built static, and the image carries the OCI labels.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	all := parseDockerfile(string(data))
	last := -1
	for i, in := range all {
		if in.keyword == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("no FROM")
	}
	build, final := all[:last], all[last:]

	var user, entrypoint *instruction
	args := map[string]bool{}
	labels := map[string]string{}
	for i, in := range final {
		switch in.keyword {
		case "USER":
			user = &final[i]
		case "ENTRYPOINT":
			entrypoint = &final[i]
		case "ARG":
			name, _, _ := strings.Cut(in.args, "=")
			args[name] = true
		case "LABEL":
			pairs, err := labelPairs(in.args)
			if err != nil {
				t.Errorf("line %d: LABEL %s: %v", in.line, in.args, err)
			}
			for k, v := range pairs {
				labels[k] = v
			}
		}
	}

	if user == nil {
		t.Error("the final stage has no USER: the image would run as root")
	} else if !numericUser.MatchString(user.args) {
		t.Errorf("line %d: USER %s: want a numeric uid (and gid) other than 0", user.line, user.args)
	}
	if entrypoint == nil {
		t.Error("the final stage has no ENTRYPOINT")
	} else {
		var argv []string
		if err := json.Unmarshal([]byte(entrypoint.args), &argv); err != nil || len(argv) == 0 {
			t.Errorf("line %d: ENTRYPOINT %s: want exec form ([\"/reassign\"]); the shell form runs /bin/sh, which the image lacks and which would keep SIGTERM from the program", entrypoint.line, entrypoint.args)
		} else if !slices.ContainsFunc(final, func(in instruction) bool {
			return in.keyword == "COPY" && strings.HasSuffix(in.args, " "+argv[0])
		}) {
			t.Errorf("line %d: ENTRYPOINT %s: no COPY in the final stage puts the binary there", entrypoint.line, argv[0])
		}
	}

	for _, key := range []string{"title", "description", "version", "revision", "source"} {
		if labels["org.opencontainers.image."+key] == "" {
			t.Errorf("no label org.opencontainers.image.%s", key)
		}
	}
	if v := labels["org.opencontainers.image.version"]; !strings.Contains(v, "${VERSION}") && !strings.Contains(v, "$VERSION") {
		t.Errorf("label org.opencontainers.image.version=%q: want it from the VERSION build argument", v)
	} else if !args["VERSION"] {
		t.Error("the final stage uses ${VERSION} without ARG VERSION (build arguments are per stage): the label would be empty")
	}

	static := slices.ContainsFunc(build, func(in instruction) bool {
		return in.keyword == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build")
	})
	if !static {
		t.Error("no RUN with CGO_ENABLED=0 go build: the binary would need a libc the final image lacks")
	}
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	got := parseDockerfile("# c\nFROM a AS b\n\nRUN x \\\n  # inside\n  y\nlabel k=\"v w\" \\\n  j=z\n")
	want := []instruction{{2, "FROM", "a AS b"}, {4, "RUN", "x y"}, {7, "LABEL", `k="v w" j=z`}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	pairs, err := labelPairs(`k="v \"w\"" j=z`)
	if err != nil || pairs["k"] != `v "w"` || pairs["j"] != "z" || len(pairs) != 2 {
		t.Errorf("labelPairs: %q, %v", pairs, err)
	}
	if _, err := labelPairs("novalue"); err == nil {
		t.Error("labelPairs(novalue): no error")
	}
}

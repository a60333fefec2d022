package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines bounds the README: what a newcomer reads first, with the reference in
// docs/.
const readmeMaxLines = 220

// TestDocsLinks: every relative link of README.md and docs/*.md names a file that exists
// and, when it names an #anchor of a Markdown page, a heading of that page; every page of
// docs/ is linked from the README; and the README stays short.
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("docs/ holds no page")
	}
	readme := "README.md"
	linkedFromReadme := map[string]bool{}
	for _, page := range append([]string{readme}, pages...) {
		text := readText(t, page)
		for _, l := range markdownLinks(text) {
			if problem := checkLink(page, l); problem != "" {
				t.Errorf("%s: link %q: %s", page, l, problem)
			}
			if page == readme {
				if p, _, ok := localTarget(page, l); ok {
					linkedFromReadme[p] = true
				}
			}
		}
	}
	for _, page := range pages {
		if !linkedFromReadme[filepath.Clean(page)] {
			t.Errorf("%s is not linked from %s", page, readme)
		}
	}
	if n := strings.Count(readText(t, readme), "\n"); n > readmeMaxLines {
		t.Errorf("%s has %d lines, at most %d: move the reference into docs/", readme, n, readmeMaxLines)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkLink says what is wrong with the link target l of page, or "" when nothing is. Links
// with a scheme (https:, mailto:) are not checked.
func checkLink(page, l string) string {
	path, anchor, ok := localTarget(page, l)
	if !ok {
		return ""
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Sprintf("no such file %s", path)
	}
	if anchor == "" || info.IsDir() || !strings.HasSuffix(path, ".md") {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if !headingAnchors(string(b))[anchor] {
		return fmt.Sprintf("%s has no heading that makes #%s", path, anchor)
	}
	return ""
}

// localTarget splits a relative link of page into the path it names (from the
// repository's root) and its anchor; ok is false for a link with a scheme.
func localTarget(page, l string) (path, anchor string, ok bool) {
	if u, err := url.Parse(l); err != nil || u.Scheme != "" || strings.HasPrefix(l, "//") {
		return "", "", false
	}
	target, anchor, _ := strings.Cut(l, "#")
	if target == "" {
		return filepath.Clean(page), anchor, true
	}
	if unescaped, err := url.PathUnescape(target); err == nil {
		target = unescaped
	}
	return filepath.Clean(filepath.Join(filepath.Dir(page), target)), anchor, true
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```[^\\n]*$")
	codeSpan   = regexp.MustCompile("`[^`]*`")
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	heading    = regexp.MustCompile(`(?m)^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$`)
	mdLinkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// markdownLinks returns the targets of the inline links of a Markdown text, outside code
// blocks and code spans (a link's text may run over two lines).
func markdownLinks(text string) []string {
	text = fence.ReplaceAllString(text, "")
	text = codeSpan.ReplaceAllString(text, "")
	var links []string
	for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
		links = append(links, m[1])
	}
	return links
}

// headingAnchors returns the anchors the headings of a Markdown text make on GitHub,
// repeated headings numbered as GitHub numbers them (-1, -2, ...).
func headingAnchors(text string) map[string]bool {
	text = fence.ReplaceAllString(text, "")
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(text, -1) {
		a := anchorOf(m[2])
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// anchorOf is GitHub's anchor for a heading: its text as shown (links as their text),
// lower-cased, punctuation dropped (letters, digits, '_' and '-' kept), spaces to '-'.
func anchorOf(h string) string {
	h = mdLinkText.ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAnchorOf(t *testing.T) {
	t.Parallel()
	cases := []struct{ heading, want string }{
		{"Exit codes", "exit-codes"},
		{"The HTML report's page", "the-html-reports-page"},
		{"`--max-errors`", "--max-errors"},
		{"Headers, aliases and `--columns`", "headers-aliases-and---columns"},
		{"5. Exit codes under the podFailurePolicy", "5-exit-codes-under-the-podfailurepolicy"},
		{"`reassign report`: one page from reports already written", "reassign-report-one-page-from-reports-already-written"},
		{"Workbooks (`.xlsx`)", "workbooks-xlsx"},
		{"before_agent_id", "before_agent_id"},
		{"See [the plan](docs/plan.md)", "see-the-plan"},
		{"Café résumé", "café-résumé"},
	}
	for _, c := range cases {
		if got := anchorOf(c.heading); got != c.want {
			t.Errorf("anchorOf(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
}

func TestMarkdownLinks(t *testing.T) {
	t.Parallel()
	text := "See [a](a.md) and [two\nlines](b.md#x), ![img](c.png \"title\"), [web](https://x.y/z).\n" +
		"`[code](not.md)` is no link.\n```sh\n[fenced](not-either.md)\n```\n"
	got := strings.Join(markdownLinks(text), " ")
	if want := "a.md b.md#x c.png https://x.y/z"; got != want {
		t.Errorf("markdownLinks = %q, want %q", got, want)
	}
	anchors := headingAnchors("# Title\n## Same\n```\n# not a heading\n```\n## Same\n")
	for _, a := range []string{"title", "same", "same-1"} {
		if !anchors[a] {
			t.Errorf("headingAnchors lacks %q: %v", a, anchors)
		}
	}
	if anchors["not-a-heading"] {
		t.Errorf("headingAnchors reads a heading inside a code block: %v", anchors)
	}
}

package main

//go:generate sh -c "go run . help --markdown > docs/flags.md.new && mv docs/flags.md.new docs/flags.md"

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// about is what help says of a command besides its flags.
type about struct {
	short    string    // what it does, in a line of the command list
	usage    string    // the command line's shape
	summary  string    // what it does, in a sentence or two
	examples []example // two or three
	exits    string    // its exit codes
}

type example struct{ what, line string }

// aboutCommand is help's text for cmd.
func aboutCommand(cmd command) about {
	switch cmd {
	case cmdVerify:
		return about{
			short:   "prove that the workspace holds what a plan says; reads only",
			usage:   "reassign verify --plan FILE [flags]",
			summary: "Reports whether the workspace holds what a plan says, row by row (matches, differs, not_found, invalid), without a write. It reads the plans a run reads.",
			examples: []example{
				{"prove a migration, right after it or a month later", "reassign verify --plan numbers.csv --report verify.csv"},
				{"a workbook with its own column titles", "reassign verify --plan team-move.xlsx --sheet Rufnummern --columns 'phone_number=Rufnummer,agent=Ziel-Agent'"},
				{"a rehearsal: the sandbox's workspace kept in a file", "reassign verify --plan numbers.csv --sandbox --sandbox-state rehearsal.json"},
			},
			exits: "0 every row matches, 3 some row does not (differs, not_found, invalid), 64 usage, 65 bad plan, 75 interrupted or the reads failed, 77 key refused, 78 configuration refused.",
		}
	case cmdExport:
		return about{
			short:   "write the workspace's numbers as a plan to edit",
			usage:   "reassign export --out FILE [flags]",
			summary: "Writes every number of the workspace as a plan to edit in a spreadsheet (id, phone_number, agent_id, nickname, label, status, country_code, type); rows fed back unchanged cost nothing.",
			examples: []example{
				{"the whole workspace", "reassign export --out numbers.csv"},
				{"only the local numbers of India", "reassign export --out in-local.csv --country-code IN --type local"},
				{"the sandbox's numbers, on stdout", "reassign export --out - --sandbox"},
			},
			exits: "0 written, 64 usage, 75 the reads failed (no file is kept), 77 key refused, 78 configuration refused (the file exists, no key).",
		}
	case cmdAgents:
		return about{
			short:   "list the workspace's agents (id, name, inbound) as CSV",
			usage:   "reassign agents [--out FILE] [flags]",
			summary: "Lists the workspace's agents as CSV (id, name, inbound: yes or no where the API says whether the agent takes inbound numbers, else empty), to copy names and ids into a plan.",
			examples: []example{
				{"the agents, on stdout", "reassign agents"},
				{"to a file, for a spreadsheet", "reassign agents --out agents.csv"},
				{"the sandbox's agents (one takes outbound calls only)", "reassign agents --sandbox"},
			},
			exits: "0 written, 64 usage, 75 the read failed (no file is kept), 77 key refused, 78 configuration refused (the file exists, no key).",
		}
	case cmdReport:
		return about{
			short: "render reports already written as one HTML page",
			usage: "reassign report --html OUT.html REPORT.csv... [SUMMARY.json...]",
			summary: "Writes one self-contained HTML page of reports already written: the shards of one run together. " +
				"A file that holds a JSON object is taken as a run's summary (--summary): it adds the plan, workspace, version, start, duration and the 429s per second.",
			examples: []example{
				{"one run's report and summary", "reassign report --html run.html run-report.csv run-summary.json"},
				{"every pod of a sharded run", "reassign report --html run.html reports/reassign-run-*-report.csv reports/reassign-run-*-summary.json"},
			},
			exits: "0 written, 64 usage, 65 a report cannot be read, 78 the page exists or a file is missing.",
		}
	}
	return about{
		short:   "apply a plan (or --dry-run it) and report what happened to each row",
		usage:   "reassign --plan FILE [flags]",
		summary: "Applies a plan (CSV or .xlsx) of phone-number changes (agent, nickname, label) through the DialNexa API, rate-limited, and writes a CSV report of each row's outcome.",
		examples: []example{
			{"validate and show what would be sent, offline: no request at all", "reassign --plan numbers.csv --dry-run"},
			{"what each row would change, against the workspace: reads only", "reassign --plan numbers.csv --dry-run=server --report review.csv"},
			{"apply it, keeping a plan that puts every changed number back", "reassign --plan numbers.csv --undo-plan undo.csv"},
			{"one number, a tenth, then the rest, each proved; put all back if one fails", "reassign --plan numbers.csv --waves 1,10%,100% --atomic"},
		},
		exits: "0 done, 3 some rows not found/rejected/invalid/conflict or an atomic run rolled back, 4 an atomic run could not put every number back (run its undo plan), 64 usage, 65 bad plan, 75 interrupted or rows failed (rerun with --resume), 77 key refused, 78 configuration refused.",
	}
}

// help is `reassign help [COMMAND]`: the commands, or one command's help; --markdown
// writes the flags reference (docs/flags.md is made of it by go generate). It returns
// flag.ErrHelp once printed, or a usageError.
func help(w io.Writer, args []string) error {
	switch {
	case len(args) == 0, args[0] == "-h", args[0] == "--help", args[0] == "-help":
		printCommands(w)
		return flag.ErrHelp
	case len(args) > 1:
		return usageError{fmt.Errorf("help takes one command, not %d words", len(args))}
	case args[0] == "--markdown":
		printMarkdown(w)
		return flag.ErrHelp
	}
	cmd, ok := commandNamed(args[0])
	if !ok {
		var names []string
		for _, c := range commandList() {
			names = append(names, c.name())
		}
		err := fmt.Errorf("help: no command %q (commands: %s)", args[0], strings.Join(names, ", "))
		if near := nearFlags(args[0], names); len(near) > 0 {
			err = fmt.Errorf("help: no command %q; did you mean %s?", args[0], near[0])
		}
		return usageError{err}
	}
	printHelp(w, cmd, rowsOf(new(config).options(), cmd))
	return flag.ErrHelp
}

// printCommands is `reassign help`: what each command does.
func printCommands(w io.Writer) {
	fmt.Fprint(w, "Usage: reassign COMMAND [flags]\n\n"+
		"Moves DialNexa phone numbers between inbound agents in bulk, from a plan (CSV or .xlsx),\n"+
		"and reports what happened to each number.\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commandList() {
		line := c.invocation()
		if c == cmdRun {
			line += " --plan FILE"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", line, aboutCommand(c).short)
	}
	tw.Flush()
	fmt.Fprint(w, "\nreassign help COMMAND (or reassign COMMAND --help) shows a command's flags and examples;\n"+
		"reassign --help shows a run's.\n")
}

// printHelp is one command's help: its flags only, grouped, then examples.
func printHelp(w io.Writer, cmd command, rows []option) {
	a := aboutCommand(cmd)
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", a.usage, wrap(a.summary, 88, ""))
	for _, g := range groupList() {
		first := true
		for _, o := range rows {
			if o.group != g {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", g.title())
				first = false
			}
			fmt.Fprintf(w, "  %s%s\n%s\n", o.spelling(), envAndDefault(o), wrap(o.usage, 88, "      "))
		}
	}
	fmt.Fprint(w, "\nEach flag also comes from the environment variable shown; the flag wins.\n\nExamples:\n")
	for _, e := range a.examples {
		fmt.Fprintf(w, "  # %s\n  %s\n", e.what, e.line)
	}
	fmt.Fprintf(w, "\n%s\n", wrap("Exit codes: "+a.exits, 88, ""))
	if cmd == cmdRun {
		fmt.Fprint(w, "\nOther commands: verify, export, agents, report (reassign help COMMAND).\n")
	}
}

// envAndDefault is what follows a flag in help: "  [$REASSIGN_RATE] (default 5)".
func envAndDefault(o option) string {
	s := ""
	if o.env != "" {
		s += "  [$" + o.env + "]"
	}
	if o.def != "" {
		s += " (default " + o.def + ")"
	}
	return s
}

// wrap breaks text into lines of at most width characters (a longer word stands alone),
// each line after indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for _, word := range strings.Fields(text) {
		switch {
		case line == 0:
			b.WriteString(indent)
			line = len(indent)
		case line+1+len([]rune(word)) > width:
			b.WriteString("\n" + indent)
			line = len(indent)
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len([]rune(word))
	}
	return b.String()
}

// printMarkdown writes the flags reference: every command, then every flag of the
// table by group, with the commands that take it.
func printMarkdown(w io.Writer) {
	fmt.Fprint(w, "# Flags\n\n"+
		"<!-- Made from the program's flag table by go generate (reassign help --markdown): change the table, not this page. -->\n\n"+
		"Every flag can also come from the environment variable beside it; the flag wins. Each\n"+
		"command takes the flags that apply to it and refuses the others (exit 64, naming the\n"+
		"flag); it reads only its own flags' variables, so one environment can serve them all.\n"+
		"`reassign help COMMAND` (or `reassign COMMAND --help`) prints a command's flags.\n\n"+
		"| command | what it does |\n|---|---|\n")
	for _, c := range commandList() {
		a := aboutCommand(c)
		fmt.Fprintf(w, "| `%s` | %s |\n", a.usage, cellText(a.summary))
	}
	table := new(config).options()
	for _, g := range groupList() {
		fmt.Fprintf(w, "\n## %s\n\n| flag | env | default | taken by | meaning |\n|---|---|---|---|---|\n", g.title())
		for _, o := range table {
			if o.group != g {
				continue
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", o.spelling(), code(o.env), code(o.def), takers(o.cmds), cellText(o.usage))
		}
	}
	fmt.Fprint(w, "\n## Examples\n")
	for _, c := range commandList() {
		fmt.Fprintf(w, "\n%s:\n\n```sh\n", c.invocation())
		for _, e := range aboutCommand(c).examples {
			fmt.Fprintf(w, "# %s\n%s\n", e.what, e.line)
		}
		fmt.Fprint(w, "```\n")
	}
}

// takers names the commands of a set for the reference: "every command", "run, verify".
func takers(cmds command) string {
	if cmds == cmdAll {
		return "every command"
	}
	var names []string
	for _, c := range commandList() {
		if cmds&c != 0 {
			names = append(names, c.name())
		}
	}
	return strings.Join(names, ", ")
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

// cellText keeps text inside its markdown table cell, as text: no | ends the cell, no
// <UTC time> is read as a tag.
func cellText(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

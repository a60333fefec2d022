package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"reassign/job/suggest"
)

// command is one of the program's commands, as a bit: a row of the flag table holds the
// set of commands that take its flag.
type command uint8

const (
	cmdRun    command = 1 << iota // reassign --plan PLAN: a live run or a dry run
	cmdVerify                     // reassign verify
	cmdExport                     // reassign export
	cmdAgents                     // reassign agents
	cmdReport                     // reassign report

	cmdPlans = cmdRun | cmdVerify                         // the commands that read a plan
	cmdReads = cmdRun | cmdVerify | cmdExport | cmdAgents // the commands that read the workspace
	cmdAll   = cmdReads | cmdReport
)

// commandList is every command, in the order help lists them.
func commandList() []command { return []command{cmdRun, cmdVerify, cmdExport, cmdAgents, cmdReport} }

// name is the command's word on the command line ("run" for the run, which has none).
func (c command) name() string {
	switch c {
	case cmdVerify:
		return "verify"
	case cmdExport:
		return "export"
	case cmdAgents:
		return "agents"
	case cmdReport:
		return "report"
	}
	return "run"
}

// subject names the command in a sentence: "a run", "verify".
func (c command) subject() string {
	if c == cmdRun {
		return "a run"
	}
	return c.name()
}

// invocation is how the command is typed: "reassign", "reassign verify".
func (c command) invocation() string {
	if c == cmdRun {
		return "reassign"
	}
	return "reassign " + c.name()
}

// commandNamed is the command a word on the command line names; "run" names the run in
// `reassign help run` only.
func commandNamed(word string) (command, bool) {
	for _, c := range commandList() {
		if c.name() == word {
			return c, true
		}
	}
	return 0, false
}

// commandOf splits the command's word off args: none is the run.
func commandOf(args []string) (command, []string) {
	if len(args) > 0 && args[0] != "run" {
		if c, ok := commandNamed(args[0]); ok {
			return c, args[1:]
		}
	}
	return cmdRun, args
}

// group is where a flag is listed in help and in the flags reference.
type group uint8

const (
	groupPlan group = iota
	groupRun
	groupSafety
	groupOutput
	groupConnection
	groupLogging
	groupOther
)

func groupList() []group {
	return []group{groupPlan, groupRun, groupSafety, groupOutput, groupConnection, groupLogging, groupOther}
}

func (g group) title() string {
	switch g {
	case groupPlan:
		return "Plan"
	case groupRun:
		return "Run"
	case groupSafety:
		return "Safety"
	case groupOutput:
		return "Output"
	case groupConnection:
		return "Connection"
	case groupLogging:
		return "Logging"
	}
	return "Other"
}

// option is one row of the flag table: the flag (its name without dashes and the
// placeholder of its value, "" for a switch), its environment variable, its default as
// it would be typed ("" for none), what it means, where help lists it, the commands that
// take it, and where its value goes. p is a *string, *int, *float64, *bool,
// *time.Duration or flag.Value. A command reads the variables of its own rows only.
type option struct {
	name, arg, env, def, usage string
	group                      group
	cmds                       command
	p                          any
}

// spelling is the flag as help shows it: --rate N, --dry-run[=server], --yes.
func (o option) spelling() string {
	switch {
	case o.arg == "":
		return "--" + o.name
	case strings.HasPrefix(o.arg, "["):
		return "--" + o.name + o.arg
	}
	return "--" + o.name + " " + o.arg
}

// isSwitch: the flag alone means true; a value is given only as --flag=value.
func (o option) isSwitch() bool {
	switch p := o.p.(type) {
	case *bool:
		return true
	case interface{ IsBoolFlag() bool }:
		return p.IsBoolFlag()
	}
	return false
}

// value is the option's value as a flag would be typed to give it.
func (o option) value() string {
	switch p := o.p.(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case flag.Value:
		return p.String()
	}
	return ""
}

// set gives the option the value v, as typed on the command line or in its variable.
func (o option) set(v string) error {
	t := strings.TrimSpace(v)
	switch p := o.p.(type) {
	case *string:
		*p = v
	case *int:
		n, err := strconv.Atoi(t)
		if err != nil {
			return numberError(v, "a whole number", err)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return numberError(v, "a number", err)
		}
		*p = f
	case *bool:
		switch strings.ToLower(t) {
		case "yes", "on":
			t = "true"
		case "no", "off":
			t = "false"
		}
		b, err := strconv.ParseBool(t)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(t)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s, 1m30s or 500ms", v)
		}
		*p = d
	case flag.Value:
		return p.Set(v)
	default:
		return fmt.Errorf("--%s has no type (a bug)", o.name)
	}
	return nil
}

func numberError(v, what string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%q is out of range", v)
	}
	return fmt.Errorf("%q is not %s", v, what)
}

// rowsOf is the rows of table that cmd takes, in table order.
func rowsOf(table []option, cmd command) []option {
	var rows []option
	for _, o := range table {
		if o.cmds&cmd != 0 {
			rows = append(rows, o)
		}
	}
	return rows
}

// parseArgs sets cmd's options (its rows of table) from args: --name value,
// --name=value, or a switch alone (--yes); one dash is read as two. Flags and other
// arguments may come in any order; after -- every argument is one. It returns the
// other arguments, or flag.ErrHelp for -h or --help.
func parseArgs(cmd command, table []option, args []string) ([]string, error) {
	mine := map[string]option{}
	for _, o := range rowsOf(table, cmd) {
		mine[o.name] = o
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(rest, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "h" || name == "help" {
			return nil, flag.ErrHelp
		}
		o, ok := mine[name]
		switch {
		case !ok:
			return nil, unknownFlag(cmd, name, table)
		case hasValue:
		case o.isSwitch():
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			return nil, fmt.Errorf("--%s needs a value (%s)", o.name, o.spelling())
		}
		if err := o.set(value); err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
	}
	return rest, nil
}

// unknownFlag says that cmd takes no flag name, and what was probably meant: the same
// flag of another command, or a flag whose name is a slip away.
func unknownFlag(cmd command, name string, table []option) error {
	var takers command
	var ours, theirs []string
	for _, o := range table {
		switch {
		case o.name == name:
			takers |= o.cmds
		case o.cmds&cmd != 0:
			ours = append(ours, o.name)
		default:
			theirs = append(theirs, o.name)
		}
	}
	if takers != 0 {
		return fmt.Errorf("%s does not take --%s (%s)", cmd.subject(), name, takenBy(takers))
	}
	if near := nearFlags(name, ours); len(near) > 0 {
		return fmt.Errorf("unknown flag --%s; did you mean %s?", name, orFlags(near))
	}
	if near := nearFlags(name, theirs); len(near) > 0 {
		var takers command
		for _, o := range table {
			if o.name == near[0] {
				takers |= o.cmds
			}
		}
		return fmt.Errorf("unknown flag --%s (--%s is a flag of %s, not of %s)", name, near[0], listCommands(takers), cmd.subject())
	}
	return fmt.Errorf("unknown flag --%s", name)
}

// nearFlags returns the flags of names that name is a slip for: the same in lower case
// (--Plan), or a few edits away.
func nearFlags(name string, names []string) []string {
	lower := strings.ToLower(name)
	if slices.Contains(names, lower) {
		return []string{lower}
	}
	return suggest.Closest(lower, names, suggest.Within(len([]rune(lower))))
}

// takenBy says which commands take a flag: "a run does", "export and agents do".
func takenBy(cmds command) string {
	if cmds&(cmds-1) == 0 {
		return listCommands(cmds) + " does"
	}
	return listCommands(cmds) + " do"
}

// listCommands names the commands of the set: "a run", "a run and verify", "a run,
// verify and export".
func listCommands(cmds command) string {
	var names []string
	for _, c := range commandList() {
		if cmds&c != 0 {
			names = append(names, c.subject())
		}
	}
	return andList(names, "and")
}

func orFlags(names []string) string {
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = "--" + n
	}
	return andList(flags, "or")
}

// andList joins words as "a", "a and b", "a, b and c" (with or instead of and if asked).
func andList(words []string, and string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + and + " " + words[len(words)-1]
}

// unexpectedArgument refuses an argument that is no flag's value, naming the command
// it is a slip for, if it is one.
func unexpectedArgument(cmd command, arg string) error {
	if cmd == cmdRun {
		var names []string
		for _, c := range commandList()[1:] {
			names = append(names, c.name())
		}
		if near := suggest.Closest(arg, names, suggest.Within(len(arg))); len(near) > 0 {
			return fmt.Errorf("unexpected argument %q; did you mean the command %s? (reassign %s ...)", arg, near[0], near[0])
		}
	}
	return fmt.Errorf("unexpected argument %q (flags start with --)", arg)
}

// helpHint is the line after a usage error: where the command's flags are listed.
func helpHint(args []string) string {
	if len(args) > 0 && args[0] == "help" {
		return "Run reassign help for the commands."
	}
	if cmd, _ := commandOf(args); cmd != cmdRun {
		return "Run reassign help " + cmd.name() + " for its flags."
	}
	return "Run reassign --help for the flags."
}

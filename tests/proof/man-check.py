#!/usr/bin/env python3
"""The manual against the program: every command of 'podhook --help' has a section in podhook(8)
and every section a command; every option of 'podhook COMMAND --help' is documented in that
command's section, and every option documented there is one --help knows; the global options
of 'podhook --help' are under GLOBAL OPTIONS; every command is in the SYNOPSIS. The page must
also format without warnings (groff -ww). Each problem is one line saying what to add or remove
and where, so whoever adds a command or an option knows what the page still needs.
  man-check.py PODHOOK MAN_PAGE"""
import re
import shutil
import subprocess
import sys

podhook, page = sys.argv[1], sys.argv[2]
OPT = re.compile(r'(?<![\w-])--([a-z0-9][a-z0-9-]*)')


def run(*args):
    p = subprocess.run([podhook, *args], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        sys.exit('podhook %s exited %d: %s' % (' '.join(args), p.returncode, p.stderr.strip()))
    return p.stdout


def help_commands(text):
    """The commands listed under 'Commands:' of podhook --help, in order."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip().lower().rstrip(':') == 'commands':
            inside = True
            continue
        if inside:
            m = re.match(r'^\s{1,8}([a-z][a-z0-9-]*)\s{2,}\S', line)
            if m:
                out.append(m.group(1))
            elif not line.strip():
                if out:
                    inside = False
    return out


def help_options(text):
    """The options a --help offers: those of its usage lines (up to the first blank line) and those that
    start an indented line of its option list; not options its prose only mentions ("the form
    --curve-secret-file reads")."""
    lines = text.splitlines()
    found = set()
    for i, line in enumerate(lines):
        if not line.strip():
            break
        found |= set(OPT.findall(line))
    for line in lines:
        m = re.match(r'^\s+--([a-z0-9][a-z0-9-]*)', line)
        if m:
            found.add(m.group(1))
    return found


def unroff(s):
    s = re.sub(r'\\f[BIRP]|\\f\(..|\\&|\\c', '', s)
    return s.replace('\\-', '-').replace('\\(em', '-')


def parse_page(path):
    """sections: {SH name: [lines]}, commands: {SS name under COMMANDS: [lines]}."""
    sections, commands = {}, {}
    sh = ss = None
    for raw in open(path, encoding='utf-8'):
        line = raw.rstrip('\n')
        if line.startswith('.\\"'):
            continue
        if line.startswith('.SH '):
            sh, ss = unroff(line[4:]).strip().strip('"'), None
            sections.setdefault(sh, [])
            continue
        if line.startswith('.SS ') and sh == 'COMMANDS':
            ss = unroff(line[4:]).strip().strip('"')
            if ss.startswith('podhook '):
                ss = ss[len('podhook '):]
            commands.setdefault(ss, [])
            continue
        if sh is not None:
            sections[sh].append(line)
        if ss is not None:
            commands[ss].append(line)
    return sections, commands


def tagged_options(lines):
    """The options a block documents: the first --option of each tag line after a .TP."""
    out = set()
    for i, line in enumerate(lines):
        if line.startswith('.TP') and i + 1 < len(lines):
            m = OPT.match(unroff(lines[i + 1]).lstrip('.BIR ').strip())
            if m:
                out.add(m.group(1))
    return out


problems = []
sections, man_cmds = parse_page(page)
top = run('--help')
cmds = help_commands(top)
if not cmds:
    sys.exit("could not read the command list of 'podhook --help' (no 'Commands:' block)")

for c in cmds:
    if c not in man_cmds:
        opts = sorted(help_options(run(c, '--help')) | {'help'})
        problems.append("command '%s' (in 'podhook --help') has no section: add '.SS %s' under '.SH COMMANDS', "
                        "with a '.TP' for each of its options: %s" % (c, c, ' '.join('--' + o for o in opts)))
for c in man_cmds:
    if c not in cmds:
        problems.append("section '.SS %s' under COMMANDS: 'podhook --help' has no such command; remove it or add the command" % c)

synopsis = unroff('\n'.join(sections.get('SYNOPSIS', [])))
for c in cmds:
    if not re.search(r'(?m)^\.B podhook %s\b' % re.escape(c), synopsis):
        problems.append("SYNOPSIS: add '.B podhook %s' and its arguments (from 'podhook %s --help')" % (c, c))

# Global options: those named outside the command list (whose texts may mention a command's option),
# and the two main() always takes.
outside = '\n'.join(l for l in top.splitlines() if not any(re.match(r'^\s{1,8}%s\s' % re.escape(c), l) for c in cmds))
glob_help = help_options(outside) | {'help', 'version'}
glob_man = tagged_options(sections.get('GLOBAL OPTIONS', []))
for o in sorted(glob_help - glob_man):
    problems.append("global option --%s (in 'podhook --help'): add '.TP' + '.B \\-\\-%s' under '.SH GLOBAL OPTIONS'" % (o, o.replace('-', '\\-')))
for o in sorted(glob_man - glob_help):
    problems.append("GLOBAL OPTIONS documents --%s, which 'podhook --help' does not name: remove it or add it to the usage text" % o)

for c in cmds:
    if c not in man_cmds:
        continue
    have = help_options(run(c, '--help'))
    have.add('help')
    doc = tagged_options(man_cmds[c])
    for o in sorted(have - doc):
        problems.append("'podhook %s --help' has --%s: add '.TP' + '\\fB\\-\\-%s\\fR ...' to section '.SS %s'" % (c, o, o.replace('-', '\\-'), c))
    for o in sorted(doc - have):
        problems.append("section '.SS %s' documents --%s, which 'podhook %s --help' does not know: remove it" % (c, o, c))

if shutil.which('groff'):
    g = subprocess.run(['groff', '-man', '-ww', '-z', page], capture_output=True, text=True)
    for line in g.stderr.splitlines():
        problems.append('groff: ' + line)

for p in problems:
    print('%s: %s' % (page, p))
print('%d commands, %d problems' % (len(cmds), len(problems)))
sys.exit(1 if problems else 0)

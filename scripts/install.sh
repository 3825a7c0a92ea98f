#!/usr/bin/env bash
# Builds Conduit in release mode and installs it under PREFIX (default /usr/local):
#   PREFIX/bin/conduit-extract, conduit-load, conduit-state                   (mode 755)
#   PREFIX/share/bash-completion/completions/<tool>                           (mode 644)
#   PREFIX/share/zsh/site-functions/_<tool>
#   PREFIX/share/fish/vendor_completions.d/<tool>.fish
#   PREFIX/share/man/man1/<tool>.1
#
#   scripts/install.sh                   # into /usr/local (as root: sudo scripts/install.sh)
#   scripts/install.sh ~/.local          # into a prefix you own
#   DESTDIR=/tmp/pkg scripts/install.sh /usr     # packagers: files land in /tmp/pkg/usr/...
#
# Before building, it installs what the build needs with apt-get, as scripts/demo.sh does, and it
# checks that every folder it will write to can be written (else it stops, naming the folder).
# Running it again rebuilds what changed and overwrites the same files; nothing else is touched.
#
# Completions come from the tools themselves (`<tool> --generate-completion-script bash|zsh|fish`).
# Man pages are written by this script from each tool's `--help` (unwrapped, COLUMNS=1000) and
# `--version`: NAME and DESCRIPTION from the overview and discussion, SYNOPSIS from the usage line,
# ARGUMENTS, OPTIONS and SUBCOMMANDS as they are, EXAMPLES from the help's "Examples:" lines, and
# a section per subcommand (conduit-state's). swift-argument-parser's generate-manual plugin runs
# here too (`swift package generate-manual`, offline, no change to Package.swift), but in 1.8.2 it
# drops every non-ASCII character (the help's "integer → bigint" becomes "integer  bigint"), prints
# mdoc warnings on every `man` (blank lines in the discussion), re-wraps the examples and lists
# the implicit `help` subcommand; CONDUIT_MANPAGES=plugin installs its pages instead.
#
# Environment:
#   DESTDIR                 staging root prepended to every installed path (PREFIX stays as given)
#   CONDUIT_SCRATCH_PATH    build folder for `swift build --scratch-path` (default .build)
#   CONDUIT_PREBUILT=DIR    install the executables already built in DIR (e.g. .build/release or
#                           .build/debug) without building or installing packages. The end-to-end
#                           test (Tests/EndToEndTests/InstallScriptTests.swift) uses this with the
#                           debug build `swift test` has just made, so the suite never waits for a
#                           release build; everything after the build is the same code path.
#   CONDUIT_MANPAGES        help (default) or plugin: man pages from --help, or from
#                           `swift package generate-manual` (not with CONDUIT_PREBUILT: the plugin
#                           builds the package in release mode itself)
#
# Under sudo, build as yourself first (`swift build -c release`, so .build stays yours and sudo's
# PATH need not hold swift), then `sudo CONDUIT_PREBUILT=.build/release scripts/install.sh`.
#
# The installed tools link the Swift runtime of the toolchain that built them (their RUNPATH names
# it), so they run on machines where that toolchain is installed at the same place.
set -euo pipefail

tools=(conduit-extract conduit-load conduit-state)
me=install.sh
say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
  -*) die "unknown option $1 (usage: scripts/install.sh [PREFIX])" ;;
esac
[ $# -le 1 ] || die "one PREFIX at most (usage: scripts/install.sh [PREFIX])"

prefix=${1:-/usr/local}
[ -n "$prefix" ] || die "PREFIX is empty"
case $prefix in /*) ;; *) prefix="$PWD/$prefix" ;; esac
destdir=${DESTDIR:-}
destdir=${destdir%/}
case $destdir in "" | /*) ;; *) destdir="$PWD/$destdir" ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
# Relative folders in the environment are the caller's, like PREFIX.
for var in CONDUIT_PREBUILT CONDUIT_SCRATCH_PATH; do
  case ${!var:-} in "" | /*) ;; *) printf -v "$var" '%s' "$PWD/${!var}" ;; esac
done

man_from=${CONDUIT_MANPAGES:-help}
case $man_from in
  help) ;;
  plugin) [ -z "${CONDUIT_PREBUILT:-}" ] \
    || die "CONDUIT_MANPAGES=plugin builds the package in release mode itself; it cannot be used with CONDUIT_PREBUILT" ;;
  *) die "CONDUIT_MANPAGES is help or plugin, not $man_from" ;;
esac

target="$destdir${prefix%/}"   # prefix / gives /bin, not //bin
bin_dir="$target/bin"
bash_dir="$target/share/bash-completion/completions"
zsh_dir="$target/share/zsh/site-functions"
fish_dir="$target/share/fish/vendor_completions.d"
man_dir="$target/share/man/man1"

# --- 1. Every folder to write must be creatable and writable: say so now, not after the build --
for dir in "$bin_dir" "$bash_dir" "$zsh_dir" "$fish_dir" "$man_dir"; do
  existing=$dir
  while [ ! -e "$existing" ] && [ ! -L "$existing" ]; do existing=$(dirname "$existing"); done
  if [ ! -d "$existing" ]; then
    die "cannot create $dir: $existing is not a folder"
  elif [ ! -w "$existing" ] || [ ! -x "$existing" ]; then
    [ "$existing" = "$dir" ] || existing="$existing (needed for $dir)"
    die "cannot write to $existing: run as root (sudo scripts/install.sh${1:+ $1}) or give a PREFIX you own, e.g. scripts/install.sh ~/.local"
  fi
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/conduit-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# --- 2. The executables -------------------------------------------------------------------------
cd "$root"
scratch=()
scratch_dir=.build
if [ -n "${CONDUIT_SCRATCH_PATH:-}" ]; then
  scratch=(--scratch-path "$CONDUIT_SCRATCH_PATH")
  scratch_dir=$CONDUIT_SCRATCH_PATH
fi
if [ -n "${CONDUIT_PREBUILT:-}" ]; then
  built=$(cd "$CONDUIT_PREBUILT" 2>/dev/null && pwd) || die "CONDUIT_PREBUILT: no folder $CONDUIT_PREBUILT"
  say "installing the executables already built in $built (CONDUIT_PREBUILT); not building"
else
  command -v swift >/dev/null 2>&1 || die "swift is not on PATH (sudo may reset PATH: build as yourself with \
swift build -c release, then sudo CONDUIT_PREBUILT=.build/release scripts/install.sh${1:+ $1})"
  . scripts/lib/packages.sh
  ensure_packages build
  mkdir -p "$scratch_dir"
  log="$scratch_dir/install-build.log"
  say "building (swift build -c release${scratch:+ ${scratch[*]}}); log in $log"
  swift build -c release "${scratch[@]}" > "$log" 2>&1 || { cat "$log" >&2; die "swift build -c release failed"; }
  tail -n 1 "$log"
  built=$(swift build -c release "${scratch[@]}" --show-bin-path)
fi
for tool in "${tools[@]}"; do
  [ -x "$built/$tool" ] || die "no executable $built/$tool"
done
version=$("$built/conduit-state" --version) || die "$built/conduit-state --version failed"

# --- 3. Completions, from the tools -------------------------------------------------------------
for tool in "${tools[@]}"; do
  for shell in bash zsh fish; do
    "$built/$tool" --generate-completion-script "$shell" > "$stage/$tool.$shell" \
      || die "$tool --generate-completion-script $shell failed"
    [ -s "$stage/$tool.$shell" ] || die "$tool --generate-completion-script $shell printed nothing"
  done
done

# --- 4. Man pages -------------------------------------------------------------------------------
# The date on the pages: the last commit's, so the same sources give the same pages.
man_date=$(git -C "$root" log -1 --format=%cs 2>/dev/null) || man_date=
[ -n "$man_date" ] || man_date=$(date +%F)

# A page from `--help`: the help text of swift-argument-parser, unwrapped (COLUMNS), made into
# man(7) roff. $1: the executable; $2: the tool's name; $3: level, "page" or "sub" (a subcommand's
# section inside its tool's page); $4: the subcommand, for "sub".
roff_from_help() {
  local exe=$1 name=$2 level=$3 sub=${4:-}
  local help
  if [ "$level" = sub ]; then
    help=$(COLUMNS=1000 "$exe" "$sub" --help)
  else
    help=$(COLUMNS=1000 "$exe" --help)
  fi
  printf '%s\n' "$help" | awk -v name="$name" -v sub_name="$sub" -v level="$level" \
    -v version="$version" -v date="$man_date" '
    function esc(s) {
      gsub(/\\/, "\\\\e", s); gsub(/-/, "\\\\-", s)
      if (s ~ /^[.'\'']/) s = "\\&" s
      return s
    }
    function heading(title) {
      if (level == "sub") return ".SS " title
      return ".SH " title
    }
    function add_item(label, text) {
      items[section] = items[section] ".TP\n\\fB" esc(label) "\\fR\n" (text == "" ? "" : esc(text) "\n")
    }
    BEGIN { section = "DESCRIPTION"; order_n = 0 }
    /^OVERVIEW: / { abstract = substr($0, 11); section = "DESCRIPTION"; next }
    /^USAGE: / { synopsis = substr($0, 8); section = "SYNOPSIS"; next }
    /^[A-Z][A-Z ]*:$/ {
      section = substr($0, 1, length($0) - 1)
      order[++order_n] = section
      next
    }
    section == "DESCRIPTION" && /^Examples:$/ { section = "EXAMPLES"; next }
    section == "DESCRIPTION" {
      if ($0 == "") { if (description != "") paragraph = 1; next }
      if (paragraph) { description = description ".PP\n"; paragraph = 0 }
      description = description esc($0) "\n"
      next
    }
    section == "EXAMPLES" {
      if ($0 != "") examples = examples esc(substr($0, 3)) "\n"
      next
    }
    section == "SYNOPSIS" { if ($0 != "") synopsis = synopsis " " $0; next }
    {
      if ($0 == "") next
      if ($0 ~ /^  See /) { notes[section] = notes[section] ".PP\n" esc(substr($0, 3)) "\n"; next }
      if ($0 ~ /^   /) { sub(/^ +/, ""); items[section] = items[section] esc($0) "\n"; next }
      line = substr($0, 3)
      gap = index(line, "  ")
      if (gap == 0) { add_item(line, ""); next }
      text = substr(line, gap); sub(/^ +/, "", text)
      add_item(substr(line, 1, gap - 1), text)
    }
    END {
      if (level == "sub") {
        print ".SH \"" toupper(esc(name " " sub_name)) "\""
        print esc(abstract)
      } else {
        print ".\\\" Written by scripts/install.sh from `" name " --help` (swift-argument-parser help text)."
        print ".TH \"" toupper(name) "\" 1 \"" date "\" \"Conduit " version "\" \"Conduit Manual\""
        print ".SH NAME"
        print esc(name) " \\- " esc(abstract)
      }
      print heading("SYNOPSIS")
      # Filled, breaking only between the usage'"'"'s elements: no break inside [--config <file>].
      text = esc(synopsis); out = ""; depth = 0
      for (i = 1; i <= length(text); i++) {
        c = substr(text, i, 1)
        if (c == "[" || c == "<") depth++
        else if (c == "]" || c == ">") depth--
        out = out ((c == " " && depth > 0) ? "\\ " : c)
      }
      print ".ad l"; print out; print ".ad"
      if (description != "") { print heading("DESCRIPTION"); printf "%s", description }
      for (i = 1; i <= order_n; i++) {
        s = order[i]
        print heading(s); printf "%s%s", items[s], notes[s]
      }
      if (examples != "") { print heading("EXAMPLES"); print ".nf"; printf "%s", examples; print ".fi" }
    }'
}

subcommands_of() { # the SUBCOMMANDS of a --help text, "help" aside
  COLUMNS=1000 "$1" --help | awk '/^SUBCOMMANDS:$/ { on = 1; next } /^[A-Z]/ { on = 0 }
    on && /^  [a-z]/ { if ($1 != "help") print $1 }'
}

manual_from_help() { # $1: tool; prints its page
  local tool=$1 sub
  roff_from_help "$built/$tool" "$tool" page
  for sub in $(subcommands_of "$built/$tool"); do
    roff_from_help "$built/$tool" "$tool" sub "$sub"
  done
  local other see=
  for other in "${tools[@]}"; do
    [ "$other" = "$tool" ] || see="${see:+$see, }\\fB${other//-/\\-}\\fR(1)"
  done
  printf '.SH "SEE ALSO"\n%s\n' "$see"
}

if [ "$man_from" = plugin ]; then
  plugin_out="$scratch_dir/plugins/GenerateManual/outputs"
  rm -rf "$plugin_out"
  plugin_log="$scratch_dir/install-manual.log"
  say "generating man pages (swift package${scratch:+ ${scratch[*]}} generate-manual); log in $plugin_log"
  swift package "${scratch[@]}" generate-manual --configuration release --date "$man_date" > "$plugin_log" 2>&1 \
    || { cat "$plugin_log" >&2; die "swift package generate-manual failed"; }
  for tool in "${tools[@]}"; do
    page="$plugin_out/$tool/$tool.1"
    [ -s "$page" ] || { cat "$plugin_log" >&2; die "generate-manual made no $page"; }
    cp "$page" "$stage/$tool.1"
  done
  man_source="swift-argument-parser's generate-manual plugin (CONDUIT_MANPAGES=plugin)"
else
  for tool in "${tools[@]}"; do
    manual_from_help "$tool" > "$stage/$tool.1"
    [ -s "$stage/$tool.1" ] || die "no man page for $tool"
  done
  man_source="each tool's --help and --version, by this script"
fi

# --- 5. Install ---------------------------------------------------------------------------------
put() { # $1: mode, $2: file, $3: destination
  local state=installed
  if [ -f "$3" ] && cmp -s "$2" "$3" 2>/dev/null; then state=unchanged; fi
  install -m "$1" "$2" "$3"
  printf '  %-9s %s\n' "$state" "$3"
}
install -d -m 755 "$bin_dir" "$bash_dir" "$zsh_dir" "$fish_dir" "$man_dir"
say "installing Conduit $version into ${target:-/}"
for tool in "${tools[@]}"; do
  put 755 "$built/$tool" "$bin_dir/$tool"
  put 644 "$stage/$tool.bash" "$bash_dir/$tool"
  put 644 "$stage/$tool.zsh" "$zsh_dir/_$tool"
  put 644 "$stage/$tool.fish" "$fish_dir/$tool.fish"
  put 644 "$stage/$tool.1" "$man_dir/$tool.1"
done
say "man pages made from $man_source"
if [ -z "$destdir" ]; then
  case ":$PATH:" in
    *":$bin_dir:"*) say "done: try conduit-state --help, man conduit-load" ;;
    *) say "done: $bin_dir is not on PATH; add it (export PATH=\"$bin_dir:\$PATH\"), then try conduit-state --help, man conduit-load" ;;
  esac
else
  say "done (staged under DESTDIR=$destdir)"
fi

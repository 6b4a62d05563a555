"""The command-line tools: magenta-stylize, magenta-stylize-video and the demo (flags in the entry
modules, their work on files beside them, one-line errors from `runner`)."""

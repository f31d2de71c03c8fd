"""One module per command, imported only when that command runs (or for ``--help``).

``uvdock lint`` in a pre-commit hook should not pay for importing the build path.
"""

COMMANDS = {
    "plan": "uvdock.cli.commands.plan:plan_command",
    "init": "uvdock.cli.commands.init:init_command",
    "build": "uvdock.cli.commands.build:build_command",
    "doctor": "uvdock.cli.commands.doctor:doctor_command",
    "lint": "uvdock.cli.commands.lint:lint_command",
}

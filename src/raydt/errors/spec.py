"""What the user gave is wrong (exit 2): the spec, its file, its data, a command line."""

from __future__ import annotations

from typing import Any

from raydt.errors.base import EXIT_SPEC_ERROR, RaydtError, SpecIssue


class SpecError(RaydtError):
    """The spec is invalid; ``issues`` lists every problem found, not just the first."""

    code = "SPEC_INVALID"
    exit_code = EXIT_SPEC_ERROR
    what = "invalid spec"
    default_hint = "Fix the fields listed in error.issues; `raydt schema input` prints every valid key."

    def __init__(
        self,
        issues: list[SpecIssue] | str,
        *,
        hint: str | None = None,
    ) -> None:
        if isinstance(issues, str):
            issues = [SpecIssue(path="", rule=issues, hint=hint or "")]
        self.issues = issues
        if len(issues) == 1:
            message = f"{self.what}: {issues[0]}"
        else:
            message = f"{self.what}: {len(issues)} problems:\n" + "\n".join(f"  - {i}" for i in issues)
        if hint is None and len(issues) == 1 and issues[0].hint:
            hint = issues[0].hint
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["issues"] = [issue.to_dict() for issue in self.issues]
        return data


class SpecFileError(SpecError):
    """The spec file is missing, unreadable, empty or not valid JSON/YAML."""

    code = "SPEC_FILE"
    default_hint = "Pass a .json, .yaml or .yml file, or '-' to read the spec from stdin."


class DataError(SpecError):
    """The data named by ``dataConfig`` cannot feed training: unreadable or empty files, a missing label
    column, non-numeric features without an encoding step, train/validation columns that differ."""

    code = "DATA_INVALID"
    what = "invalid data"
    default_hint = "Fix the data or dataConfig as error.issues says; nothing has been trained yet."


class OptionError(SpecError):
    """A command-line option's value is invalid, alone or with the spec (``raydt k8s --storage``): reported like a
    spec problem, each issue's path naming the option (``--image``)."""

    code = "USAGE"
    what = "invalid option"
    default_hint = "Fix the options listed in error.issues; `raydt --help` describes each command's options."


class UsageError(RaydtError):
    """The command line itself is wrong."""

    code = "USAGE"
    exit_code = EXIT_SPEC_ERROR
    default_hint = "Run `raydt --help` for the commands and an example of each."


class RunNotFoundError(UsageError):
    code = "RUN_NOT_FOUND"  # the MCP server: a runId that names no run of this server

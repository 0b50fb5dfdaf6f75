r"""Paths as a developer reads them: relative to the repository, not to the CI runner's disk.

CI providers check the repository out under a fixed, documented workspace folder
(`/home/runner/work/<repo>/<repo>/` on GitHub Actions, `/builds/<group>/<project>/` on GitLab,
`/home/travis/build/<owner>/<repo>/` on Travis CI, `<JENKINS_HOME>/workspace/<job>/` on
Jenkins, ...). `workspace_relative` removes that prefix wherever it occurs in a text, so a
finding names `tests/fixtures/tax/de-DE.json` rather than the runner's absolute path.
"""

from __future__ import annotations

import re

_SEG = r"[^/\\\s'\"`:]+"
_WORKSPACES = re.compile(
    "(?:"
    + "|".join(
        [
            rf"/home/runner/work/{_SEG}/{_SEG}/",
            rf"/Users/runner/work/{_SEG}/{_SEG}/",
            rf"[A-Za-z]:\\a\\{_SEG}\\{_SEG}\\",
            r"/github/workspace/",
            rf"/__w/{_SEG}/{_SEG}/",
            rf"/builds/{_SEG}/{_SEG}/",
            rf"/(?:home|Users)/travis/build/{_SEG}/{_SEG}/",
            rf"[A-Za-z]:\\Users\\travis\\build\\{_SEG}\\{_SEG}\\",
            rf"/(?:var/lib/jenkins|var/jenkins_home|home/jenkins(?:/agent)?)/workspace/{_SEG}/",
            r"/home/circleci/(?:project|repo)/",
            r"/home/vsts/work/\d+/s/",
            r"[A-Za-z]:\\a\\\d+\\s\\",
            r"/opt/atlassian/pipelines/agent/build/",
            rf"/var/lib/buildkite-agent/builds/{_SEG}/{_SEG}/{_SEG}/",
        ]
    )
    + ")"
)


def workspace_relative(text: str) -> str:
    """`text` with every CI workspace prefix removed (paths become repository-relative)."""
    return _WORKSPACES.sub("", text)

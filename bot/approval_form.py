"""The reject (and admin override) modal's one input: why. Its name is the modal's block id."""

REASON = "approval_reason"
#: Longest reason kept: a few sentences.
MAX_REASON = 1000

"""The reject (and admin override) modal's one input: why (its name is the modal's block id);
and how much of the application's digest an approver's buttons carry (hex characters)."""

REASON = "approval_reason"
#: Longest reason kept: a few sentences.
MAX_REASON = 1000
#: The digest prefix in ``<order id>:<digest>`` button values: the application the message showed.
SEEN_DIGEST = 16

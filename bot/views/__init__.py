"""Block Kit builders for modals, messages and the home tab (slack_sdk.models)."""

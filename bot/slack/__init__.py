"""The Slack adapter: certdesk's ports implemented with slack_sdk (the only Slack code outside
``handlers/``)."""

from bot.slack.notifier import SlackNotifier

__all__ = ["SlackNotifier"]

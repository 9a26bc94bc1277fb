"""Notification channels: one adapter per provider family (SMTP, Twilio, FCM, webhooks, console)."""

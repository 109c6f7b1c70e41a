"""newsbot the application: configuration, the command line and the Telegram bot."""

__version__ = "0.1.0"

"""newsbot the application: configuration, the command line and the Telegram bot."""

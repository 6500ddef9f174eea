"""The web apps: command-centre console, resident app, officer app and admin. Pages are shells; the apps are ES
modules that use Siaga's public API and streams, nothing private."""

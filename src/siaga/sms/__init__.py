"""SMS as a channel in: messages from residents, feature phones and officers, through Gammu SMSD or an HTTP provider."""

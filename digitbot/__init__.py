"""What sits above the three packages (``recognizer``, ``training``, ``bot``): the ``digitbot`` command,
and ``digitbot.testkit``, the helpers tests and bench scripts share."""

"""A lasting local Ray cluster (``raydt cluster up | down | status``): the record of what ``up`` started
(``state``), finding and stopping its processes by pid (``procs``), starting it (``start``) and the
detection ``raydt run`` uses (``detect``). Importing this package imports no Ray."""

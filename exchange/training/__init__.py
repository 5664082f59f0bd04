"""演练 (training): complete listings driven through the services on a fresh database in simulated time
(``flask --app wsgi simulate``); see :mod:`exchange.training.simulate`."""

"""抵押登记与融资 (issue 19; DESIGN §3.13, 实施方案 三(三), 四(四)): banks and guarantee firms lend against rights traded
here or registered at intake; the center checks the right, the institution decides, the center registers the
mortgage (抵押登记证明), and a mortgaged right cannot be listed or mortgaged again without the mortgagee's recorded
consent; release on repayment; disposal on default through a normal listing, the proceeds to the mortgagee first.

Built so far (issue 19, first part): the institutions and their officers (``exchange.orgs``, role ``lender``), the
mortgage's record and state machine (:mod:`~exchange.mortgages.models`, :mod:`~exchange.mortgages.states`) and the
rules on plain values (:mod:`~exchange.mortgages.rules`).  Not yet: the services, pages, API, disposal, statistics.
"""

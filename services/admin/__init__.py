"""Site staff and operators: the admin API's rules, reports and their resolution, stats,
maintenance jobs and development seed data.

May use: every package below the top layer.
"""

"""The tools that read a built warehouse and publish from it.

``exports`` writes the published marts (never the restricted ones) to Parquet and one Tableau Hyper
extract, with ``tableau`` data sources that carry the dbt docs; ``report`` renders the offline HTML
report from Jinja templates; ``docs_site`` makes the dbt docs page open cleanly offline. They run
after ``dbt build`` and never change the warehouse.
"""

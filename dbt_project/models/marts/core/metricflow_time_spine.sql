{{ config(materialized='table') }}
-- MetricFlow's day-grain time spine (see the semantic layer YAML).
select date_day from {{ ref('dim_dates') }}

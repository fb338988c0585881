{#-
    Confidence limits and funnel-plot limits used by the asthma inequality models, one definition
    each. Formulas follow PHEindicatormethods (R/utils.R: byars_lower/byars_upper, wilson_lower/
    wilson_upper, sigma_adjustment), which cites Breslow & Day (1987) for Byars and Wilson (1927)
    / Newcombe & Altman (2000) for the Wilson score interval. health_equity.stats.measures implements
    the same formulas in Python for the tests' independent recomputation.
-#}

{#- Standard normal quantiles for two-sided 95% and 99.8% limits: the project vars z_95 and
    z_99_8, the same the hospital marts use. -#}
{%- macro z_95() -%} {{ var('z_95') }} {%- endmacro -%}
{%- macro z_998() -%} {{ var('z_99_8') }} {%- endmacro -%}

{#- Byars' approximation to the exact Poisson limits of an observed count o (>= 0). -#}
{% macro byars_lower(o, z=none) -%}
    {%- set z = z or z_95() -%}
    case
        when {{ o }} > 0
            then {{ o }} * power(1 - 1 / (9 * {{ o }}) - {{ z }} / (3 * sqrt({{ o }})), 3)
        else 0
    end
{%- endmacro %}

{% macro byars_upper(o, z=none) -%}
    {%- set z = z or z_95() -%}
    ({{ o }} + 1) * power(1 - 1 / (9 * ({{ o }} + 1)) + {{ z }} / (3 * sqrt({{ o }} + 1)), 3)
{%- endmacro %}

{#- Exact (Garwood) 95% Poisson limits of an observed count o below 10, the way PHE publishes a
    crude rate's interval (PHEindicatormethods phe_rate: exact limits below 10 events, Byars'
    approximation from 10): lower = chi2 quantile(0.025, 2 o) / 2, upper = chi2 quantile(0.975,
    2 o + 2) / 2. SQL has no chi-square quantile, so the 20 limits are constants here, to 15
    significant digits; tests/python/stats/test_rates.py checks each against scipy. -#}
{%- macro poisson_exact_limits_95() -%}
    {{ return({'lower': [0, 0.0253178079842899, 0.242209278543965, 0.618672122895601, 1.08986537362632, 1.62348639011842, 2.20189425349085, 2.81436305151987, 3.4538321767485, 4.11537309737833],
               'upper': [3.68887945411394, 5.5716433909389, 7.22468766772396, 8.76727306974232, 10.2415886754037, 11.6683320793227, 13.0594740225187, 14.4226753617024, 15.7631892201933, 17.0848034514192]}) }}
{%- endmacro %}

{#- A crude rate's 95% limit on its count o: exact below 10 events, Byars from 10 (side 'lower'
    or 'upper'). -#}
{% macro poisson_limit_95(o, side) -%}
    {%- set exact = poisson_exact_limits_95()[side] -%}
    case
        {% for value in exact -%}
            when {{ o }} = {{ loop.index0 }} then {{ value }}
        {% endfor -%}
        else {{ byars_lower(o) if side == 'lower' else byars_upper(o) }}
    end
{%- endmacro %}

{#- The method poisson_limit_95 uses, as the crude_rate_ci_method columns say it. -#}
{% macro poisson_limit_method() -%}
    'exact Poisson limits below 10 events, Byars approximation from 10 (PHE)'
{%- endmacro %}

{#- Wilson score limits of the proportion x / n (as a fraction; NULL when n = 0). -#}
{% macro wilson_lower(x, n, z=none) -%}
    {%- set z = z or z_95() -%}
    (2 * {{ x }} + power({{ z }}, 2) - {{ z }} * sqrt(power({{ z }}, 2) + 4 * {{ x }} * (1 - {{ x }} / nullif({{ n }}, 0))))
    / (2 * ({{ n }} + power({{ z }}, 2)))
{%- endmacro %}

{% macro wilson_upper(x, n, z=none) -%}
    {%- set z = z or z_95() -%}
    (2 * {{ x }} + power({{ z }}, 2) + {{ z }} * sqrt(power({{ z }}, 2) + 4 * {{ x }} * (1 - {{ x }} / nullif({{ n }}, 0))))
    / (2 * ({{ n }} + power({{ z }}, 2)))
{%- endmacro %}

{#-
    Funnel-plot control limit for a proportion (as a fraction) at denominator n around the
    average proportion p: the observed proportion whose Wilson score limit equals p
    (PHEindicatormethods sigma_adjustment; side 'low' or 'high'), clipped to [0, 1].
-#}
{% macro funnel_limit(p, n, z, side) -%}
    {%- set sign = '-' if side == 'low' else '+' -%}
    {%- set base = "(" ~ p ~ ") * ((" ~ n ~ ") / power(" ~ z ~ ", 2) + 1)" -%}
    {%- set last = "(1 / power(" ~ z ~ ", 2) + 1 / (" ~ n ~ "))" -%}
    least(1, greatest(0,
        ({{ base }} {{ sign }} sqrt(
            power(-8 * {{ base }}, 2)
            - 64 * {{ last }} * ({{ p }})
            * (({{ n }}) * (({{ p }}) * (({{ n }}) / power({{ z }}, 2) + 2) - 1) + power({{ z }}, 2) * (({{ p }}) - 1))
        ) / 8) / {{ last }} / ({{ n }})
    ))
{%- endmacro %}

{#- Days per person-year, as a DOUBLE: the literal 365.25 is a DECIMAL, and Spark keeps
    integer / DECIMAL a DECIMAL (DuckDB gives a DOUBLE), which the marts' contracts reject. -#}
{% macro days_per_year() -%}
    cast(365.25 as double)
{%- endmacro %}

{#- sum(expression ** k) as <prefix>k for k = 1 .. highest, each as exact text: the expression must
    be a decimal(38, 0) (powers by repeated multiplication, so no double rounding). -#}
{% macro exact_power_sums(expression, prefix, highest) -%}
    {%- for power in range(1, highest + 1) -%}
        cast(sum({{ ([expression] * power) | join(' * ') }}) as string) as {{ prefix }}{{ power }}
        {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}

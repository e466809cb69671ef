{#- The configuration of the pipeline's matcher (int_identity_match_pairs, macro
    configured_match_pairs): which comparisons, their levels, vetoes, corroboration and blocking
    rules. Edit the YAML below to change how the pipeline matches people, or replace it whole for a
    run with `--vars '{identity_match: {...}}'` (same layout). docs/identity.md, "The matcher's
    configuration", says what every key and comparison type does. m/u per level are in the seed
    identity_match_comparisons and the prior in identity_match_settings, both written by
    `python -m intent_pipeline identity-estimate`.

    The record columns (int_identity_records): record_id, first_name, last_name, full_name, email,
    phone, company, city, dob, national_id (null where a source does not carry them). -#}
{% macro identity_match_config() -%}
{%- set shipped -%}
record_id: record_id
max_block_size: 50
parameters_seed: identity_match_comparisons
prior_seed: identity_match_settings
comparisons:
  # names: (given, surname) in plain letters, Chinese names in pinyin (王伟 = Wang Wei = Wei Wang);
  # levels 3 equal, 2 typo (not a Chinese name), 1 similar / initial / same pinyin other characters, 0
  - name: first_name
    type: person_name
    part: given
    columns: [first_name, last_name, full_name]
    tf_adjust: {{ 'first_name' in var('identity_match_tf_adjust', []) }}
  - name: last_name
    type: person_name
    part: surname
    columns: [first_name, last_name, full_name]
    tf_adjust: {{ 'last_name' in var('identity_match_tf_adjust', []) }}
  # date of birth: 3 equal, 2 one edit in the digits / day and month swapped / within 31 days,
  # 1 within a year, 0 (a contradiction)
  - name: dob
    column: dob
    type: date_parts
    one_part_differs: false
    digit_typo: any
    close_days: 31
    thresholds: [365]
    contradicts_at_or_below: 0
  # email: 3 same mailbox, 2 one typo (only when the names agree), 1 different, 0 two mailboxes at
  # one company domain (a contradiction)
  - name: email
    column: email
    type: email
    blocklist: email
    free_domains_seed: identity_match_free_email_domains
    typo_counts_when:
      - {comparison: first_name, levels: [-1, 2, 3]}
      - {comparison: last_name, levels: [-1, 2, 3]}
    contradicts_at_or_below: 0
  # phone: the last 8 digits; 2 equal, 1 one edit, 0 (a contradiction)
  - name: phone
    column: phone
    type: damerau_levenshtein
    standardise: phone
    digits: 8
    blocklist: phone
    thresholds: [1]
    contradicts_at_or_below: 0
  # company without legal suffixes: 2 equal, 1 Jaro-Winkler >= 0.88 or one contains the other, 0
  - name: company
    column: company
    type: jaro_winkler
    standardise: organisation
    thresholds: [0.88]
    contains: true
  - name: city
    column: city
    type: jaro_winkler
    standardise: place
    thresholds: [0.88]
  # national id (no source of ours carries one yet: the seed has its levels at m = u, so it weighs 0
  # until identity-estimate estimates them on records that have one, but it vetoes and corroborates):
  # 2 equal, 1 one edit, 0 (a contradiction); a placeholder (seed identity_blocklist: `N/A`,
  # `123456789`, one digit repeated) is no value, so it neither glues namesakes nor lifts a veto
  - name: national_id
    column: national_id
    type: damerau_levenshtein
    blocklist: national_id
    thresholds: [1]
    contradicts_at_or_below: 0
# var identity_match_veto_override (on; false turns it off): a date of birth two or more edits off
# does not veto a pair whose national id is equal and whose first and last names are equal; every
# other veto stays. Not the other way round: two namesakes born on one day (two Wang Weis) are two
# people when their national ids differ. Measured on FEBRL3, hand-written adversarial records and
# bench/identity.py (glue did not rise on any): docs/identity.md, "The veto override, measured".
# INTENT_IDENTITY_MATCH_VETO_OVERRIDE=false turns it off too (the var wins), read only when a node
# runs: a --vars run re-parses the whole project (macro setting, as interval_bound reads the interval)
veto_overrides: {{ [] if not setting('identity_match_veto_override', true) else [
  {'name': 'national_id_and_names_equal', 'lifts': ['dob'],
   'when': [{'comparison': 'national_id', 'at_least': 2}, {'comparison': 'first_name', 'at_least': 3},
            {'comparison': 'last_name', 'at_least': 3}]}] | tojson }}
# a match needs a contact or the date of birth to agree at least partly (names and company are
# shared by colleagues and namesakes)
corroboration:
  - {comparison: email, at_least: 2}
  - {comparison: phone, at_least: 1}
  - {comparison: dob, at_least: 1}
  - {comparison: national_id, at_least: 1}
# most specific first; keys are SQL over the standardised values v_<comparison>
blocking_rules:
  - name: email_local
    keys: [v_email_local]
  - name: phone_suffix
    keys: [v_phone]
  # a_<name>: a romanised name's other reading (surname last instead of first, or the other way)
  - name: surname_initial
    keys:
      - "v_last_name || '|' || left(v_first_name, 1)"
      - "v_first_name || '|' || left(v_last_name, 1)"
      - "a_last_name || '|' || left(a_first_name, 1)"
      - "a_first_name || '|' || left(a_last_name, 1)"
  - name: name_company
    keys:
      - "v_company || '|' || v_last_name"
      - "v_company || '|' || v_first_name"
      - "v_email_company_domain || '|' || v_last_name"
      - "v_email_company_domain || '|' || v_first_name"
  - name: name_city
    keys: ["left(v_first_name, 3) || '|' || v_city", "left(v_last_name, 3) || '|' || v_city"]
  - name: dob_initial
    keys: ["v_dob || '|' || left(v_first_name, 1)", "v_dob || '|' || left(v_last_name, 1)"]
  - name: dob_city
    keys: ["v_dob || '|' || v_city"]
  - name: national_id
    keys: [v_national_id]
{%- endset -%}
{{ return(var('identity_match', fromyaml(shipped))) }}
{%- endmacro %}

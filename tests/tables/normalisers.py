"""Value normaliser tables: one line per case, (evidence as a rule hands it over, the value, or None when the
evidence is not concrete enough). Dates are read on 2026-11-02 (a Monday), in English unless a language is given."""

QUANTITIES = [
    ("5,000 pcs", {"amount": 5000, "unit": "pcs"}),
    ("5.000 piezas", {"amount": 5000, "unit": "piezas"}),
    ("2 000 sets", {"amount": 2000, "unit": "sets"}),
    ("300-500 pcs", {"min": 300, "max": 500, "amount": 500, "unit": "pcs"}),
    ("20k pcs", {"amount": 20000, "unit": "pcs"}),
    ("2.5 tons", {"amount": 2.5, "unit": "tons"}),
    ("2 x 40HQ", {"amount": 2, "unit": "40HQ", "container": True}),
    ("1 x 20' GP", {"amount": 1, "unit": "20GP", "container": True}),
    ("3 containers", {"amount": 3, "unit": "containers"}),
    ("2万件", {"amount": 20000, "unit": "件"}),
    ("两个柜", {"amount": 2, "unit": "个柜"}),
    ("三千五百只", {"amount": 3500, "unit": "只"}),
    ("Quantity Required: 200 Piece/Pieces", {"amount": 200, "unit": "piece/pieces"}),
    ("0 pcs", None),
    ("many pieces", None),
    ("two Radxa CM3", {"amount": 2, "unit": ""}),
    ("three units", {"amount": 3, "unit": "units"}),
    ("a dozen boxes", {"amount": 12, "unit": "boxes"}),
    ("one or two", {"amount": 1, "unit": ""}),
    ("3 x soldered pcb", {"amount": 3, "unit": "soldered"}),
    ("2-10 boards", {"min": 2, "max": 10, "amount": 10, "unit": "boards"}),
    ("someone", None),
]

DURATIONS = [
    ("30 days", {"days": 30}),
    ("delivered this summer", {"date": "2027-08-31", "days": 302}),
    ("next month", {"date": "2026-12-31", "days": 59}),
    ("end of this month", {"date": "2026-11-30", "days": 28}),
    ("this week", {"date": "2026-11-08", "days": 6}),
    ("in Q1", {"date": "2027-03-31", "days": 149}),
    ("before Christmas", {"date": "2026-12-24", "days": 52}),
    ("15/03/2027", {"date": "2027-03-15", "days": 133}),
    ("12/31/2026", {"date": "2026-12-31", "days": 59}),
    ("20.04.27", {"date": "2027-04-20", "days": 169}),
    ("45/13/2026", None),
    ("3-4 weeks", {"days": 28, "days_min": 21}),
    ("2 months", {"days": 60}),
    ("25 working days", {"days": 35}),
    ("45 días", {"days": 45}),
    ("4 a 6 semanas", {"days": 42, "days_min": 28}),
    ("30天", {"days": 30}),
    ("20个工作日", {"days": 28}),
    ("2个月", {"days": 60}),
    ("4-3 weeks", None),
    ("0 days", None),
    ("soon", None),
]

DATES = [
    ("15 March", "en", {"date": "2027-03-15", "days": 133}),
    ("March 15th, 2027", "en", {"date": "2027-03-15", "days": 133}),
    ("3rd of Dec", "en", {"date": "2026-12-03", "days": 31}),
    ("10 Sept", "en", {"date": "2027-09-10", "days": 312}),
    ("end of November", "en", {"date": "2026-11-30", "days": 28}),
    ("mid-January", "en", {"date": "2027-01-15", "days": 74}),
    ("2026-12-20", "en", {"date": "2026-12-20", "days": 48}),
    ("15 de marzo", "es", {"date": "2027-03-15", "days": 133}),
    ("15 de setiembre", "es", {"date": "2027-09-15", "days": 317}),
    ("finales de mayo", "es", {"date": "2027-05-31", "days": 210}),
    ("3月15日", "zh", {"date": "2027-03-15", "days": 133}),
    ("十二月底", "zh", {"date": "2026-12-31", "days": 59}),
    ("2027年1月10日", "zh", {"date": "2027-01-10", "days": 69}),
    ("the 31st of February", "en", None),
    ("next spring", "en", {"date": "2027-05-31", "days": 210}),
    ("some day", "en", None),
    ("springtime", "en", None),
]

MONEY = [
    ("USD 3.5/pc", {"amount": 3.5, "currency": "USD", "per": "unit"}),
    ("20k EUR", {"amount": 20000, "currency": "EUR"}),
    ("$8 per unit", {"amount": 8, "currency": "USD", "per": "unit"}),
    ("1550 dollars", {"amount": 1550, "currency": "USD"}),
    ("USD 10-12", {"amount": 10, "currency": "USD", "min": 10, "max": 12}),
    ("20.000 EUR", {"amount": 20000, "currency": "EUR"}),
    ("5 dólares", {"amount": 5, "currency": "USD"}),
    ("3.5 美元/个", {"amount": 3.5, "currency": "USD", "per": "unit"}),
    ("2万元", {"amount": 20000, "currency": "CNY"}),
    ("budget 5000 GBP total", {"amount": 5000, "currency": "GBP", "per": "total"}),
    ("USD", None),
    ("0 EUR", None),
]

# Payment terms and percent splits: the methods named and the deposit share
PAYMENTS = [
    ("30% deposit, 70% before shipment", {"terms": "30% deposit, 70% before shipment", "deposit_pct": 30}),
    ("T/T 30% deposit", {"terms": "T/T 30% deposit", "methods": ["T/T"], "deposit_pct": 30}),
    ("L/C at sight", {"terms": "L/C at sight", "methods": ["L/C"]}),
    ("50% advance and the balance against B/L", {"terms": "50% advance and the balance against B/L", "deposit_pct": 50}),
    ("三成定金", {"terms": "三成定金", "deposit_pct": 30}),
    ("transferencia bancaria", {"terms": "transferencia bancaria", "methods": ["T/T"]}),
    ("PayPal or credit card", {"terms": "PayPal or credit card", "methods": ["PayPal", "credit card"]}),
    ("net 30", {"terms": "net 30", "methods": ["O/A"]}),
    ("ok", None),
]

INCOTERMS = [
    ("FOB Ningbo", {"term": "FOB", "place": "Ningbo"}),
    ("CIF port of Santos", {"term": "CIF", "place": "Santos"}),
    ("FOB shanghai", {"term": "FOB"}),  # a place is written with a capital: "FOB terms" is no place
    ("DDP to Dubai", {"term": "DDP", "place": "Dubai"}),
    ("C&F Mombasa", {"term": "CFR", "place": "Mombasa"}),
    ("CNF", {"term": "CFR"}),
    ("EXW price", {"term": "EXW"}),
    ("FOB Los Angeles", {"term": "FOB", "place": "Los Angeles"}),
    ("the best price", None),
]

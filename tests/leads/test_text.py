import pytest

from climcrm.text import email_domain, normalize_company_name
from tests.factories import AccountFactory


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Climkit SA", "CLIMKIT S.A."),
        ("Climkit SA", "climkit"),
        ("Régie du Rhône Sàrl", "REGIE DU RHONE S.à r.l."),
        ("Régie du Rhône Sàrl", "Regie du Rhone sarl"),
        ("Genève Énergie S. à r. l.", "geneve energie"),
        ("Müller & Fils AG", "Muller et Fils"),
        ("Müller & Fils AG", "MÜLLER UND FILS GMBH"),
        ("Bâtiments Léman GmbH", "batiments leman"),
        ("Immo-Plus SA", "Immo Plus"),
        ("L'Habitat Sagl", "L’Habitat"),
        ("Alpha Holding SA", "ALPHA"),
    ],
)
def test_same_company_normalises_to_the_same_name(left, right):
    assert normalize_company_name(left) == normalize_company_name(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Climkit SA", "Climkit Services SA"),
        ("Régie du Rhône", "Régie du Rhin"),
        ("SA Immobilier", "Immobilier Genève"),
    ],
)
def test_different_companies_stay_different(left, right):
    assert normalize_company_name(left) != normalize_company_name(right)


def test_a_name_made_only_of_a_legal_form_is_kept():
    assert normalize_company_name("S.A.") == "sa"


def test_account_save_stores_the_normalised_name(db):
    account = AccountFactory(name="Régie du Rhône S.à r.l.")
    assert account.normalized_name == "regie du rhone"


def test_email_domain_is_lower_case():
    assert email_domain("Anne.Dupuis@Regie-Exemple.CH") == "regie-exemple.ch"
    assert email_domain("") == ""

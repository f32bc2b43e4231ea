"""From the file to the category rules, and back: the facts an elder's file gives
`categories.propose`, the proposals shown to the officer, and the data-quality
warnings stored on the file for the list's filter (DOMAIN.md "The seven
categories": where proposal and confirmation differ, the file shows a warning).
"""

from collections.abc import Iterable
from datetime import date

from tanfang.registry import categories
from tanfang.registry.models import Elder, EmergencyContact, HouseholdMember, Relation


def facts_for(
    elder: Elder, on_date: date, members: Iterable[HouseholdMember] | None = None
) -> categories.Facts:
    """What the file says on `on_date`, as the pure category rules read it."""
    if members is None:
        members = elder.household.filter(active=True)
    members = list(members)
    township = elder.village_id[:9] + "000"
    has_spouse = elder.has_spouse
    spouses = [m for m in members if m.relation == Relation.SPOUSE and not m.deceased]
    if has_spouse is None and spouses:
        has_spouse = True
    spouse = spouses[0] if spouses and has_spouse else None
    entered_children = [m for m in members if m.is_child()]
    children = [
        categories.Child(
            deceased=m.deceased,
            lives_with_elder=m.lives_with_elder and not m.deceased,
            township_code=None if m.deceased else _place(m, township),
            away_since=m.away_since,
            disability_grade=m.disability_grade,
        )
        for m in entered_children
    ]
    # Children counted on the form but not yet entered one by one: where they live
    # is unknown, which keeps the place-dependent categories from being proposed.
    living = sum(1 for m in entered_children if not m.deceased)
    missing = max((elder.children_count or 0) - living, 0)
    children.extend(categories.Child() for _ in range(missing))
    relatives = tuple(
        categories.Relative(
            relation=m.get_relation_display(),
            lives_with_elder=m.lives_with_elder,
            township_code=_place(m, township),
        )
        for m in members
        if m.relation not in {Relation.SPOUSE, Relation.SON, Relation.DAUGHTER} and not m.deceased
    )
    return categories.Facts(
        on_date=on_date,
        township_code=township,
        has_spouse=has_spouse,
        spouse_lives_with_elder=bool(spouse and spouse.lives_with_elder),
        spouse_township_code=_place(spouse, township) if spouse else None,
        children=tuple(children),
        children_known=bool(entered_children) or elder.children_count is not None,
        household=relatives,
        has_carer=elder.has_carer,
        able_to_work=elder.able_to_work,
        rural_registration=elder.rural_registration,
        ability=categories.Ability(elder.ability) if elder.ability else None,
        dementia=elder.dementia,
        disability_grade=elder.disability_grade,
        # The file has no expiry date for the certificate: a number is a valid one.
        disability_certificate_valid=bool(elder.disability_certificate_token),
    )


def _place(member: HouseholdMember, township: str) -> str | None:
    if member.lives_with_elder or member.same_township:
        return township
    if member.same_township is False:
        return categories.ELSEWHERE
    return None


def proposals(elder: Elder, on_date: date) -> tuple[categories.Proposal, ...]:
    return categories.propose(facts_for(elder, on_date))


def warnings(elder: Elder, on_date: date, confirmed: Iterable[str]) -> list[str]:
    """Everything the file should be checked for, in words."""
    members = list(elder.household.filter(active=True))
    facts = facts_for(elder, on_date, members)
    found = list(categories.differences(facts, (categories.Category(c) for c in confirmed)))
    if elder.has_spouse is False and any(
        m.relation == Relation.SPOUSE and not m.deceased for m in members
    ):
        found.append("登记了在世配偶，但“有配偶”填为否")
    living_children = [m for m in members if m.is_child() and not m.deceased]
    if elder.children_count is not None and len(living_children) > elder.children_count:
        found.append(f"登记了{len(living_children)}名子女，但子女个数填为{elder.children_count}")
    # 000_4970ff49482a0570.txt 二(三) (DOMAIN.md "first contact persons"): children
    # in the same place, all children when there are several; for an elder without
    # children, a person named by the township and the village committee.
    contacts = EmergencyContact.objects.filter(elder=elder, active=True, first_contact=True)
    if not contacts.exists():
        found.append("未指定第一探访联系人")
    elif not living_children and not any(c.named_by_township for c in contacts):
        found.append("无子女，第一探访联系人应由乡镇（街道）、村（居）指定")
    return found

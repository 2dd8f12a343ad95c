/* Who owned an account as at a moment (hub_account_owner_at,
 * docs/records.md "Accounts"), on account views as the hub keeps them,
 * including those an older hub wrote, without sale_owner_*: a contract
 * owner there is the owner as at any moment (nothing better is known), a
 * sale owner is its earliest sale. Times: the sale at 1000, the contract
 * at 5000. */
#include <string.h>

#include "hub.h"
#include "testlib.h"

static Storesync__AccountView contract_owned(void)
{
	Storesync__AccountView a = STORESYNC__ACCOUNT_VIEW__INIT;

	a.owner_store = "S2";
	a.owner_key = "K-1";
	a.contract_no = "K-1";
	a.customer = "CUST-K";
	a.owner_since_ms = 5000;
	a.owner_by_contract = 1;
	return a;
}

static void owner_is(const Storesync__AccountView *a, int64_t at, const char *store,
	const char *contract, const char *customer)
{
	struct hub_account_owner o;

	hub_account_owner_at(a, at, &o);
	ck_assert_str_eq(o.store, store);
	ck_assert_str_eq(o.contract_no, contract);
	ck_assert_str_eq(o.customer, customer);
}

START_TEST(contract_with_its_earliest_sale_known)
{
	Storesync__AccountView a = contract_owned();

	a.sale_owner_known = 1;
	a.sale_owner_store = "S1";
	a.sale_owner_key = "R-1";
	a.sale_customer = "CUST-S";
	a.sale_owner_since_ms = 1000;
	owner_is(&a, 999, "", "", "");
	owner_is(&a, 1000, "S1", "", "CUST-S");
	owner_is(&a, 4999, "S1", "", "CUST-S");
	owner_is(&a, 5000, "S2", "K-1", "CUST-K");
	owner_is(&a, INT64_MAX, "S2", "K-1", "CUST-K");
}
END_TEST

/* An older hub's account a contract owns: whether a sale came before is
 * not known, so the owner of now, at every moment. */
START_TEST(contract_an_older_hub_wrote)
{
	Storesync__AccountView a = contract_owned();

	owner_is(&a, 1000, "S2", "K-1", "CUST-K");
	a.sale_owner_store = "S3";   /* a sale the newer hub saw later */
	a.sale_owner_since_ms = 3000;
	owner_is(&a, 4000, "S2", "K-1", "CUST-K");
}
END_TEST

START_TEST(a_sale_owner_before_its_sale_is_none)
{
	Storesync__AccountView a = STORESYNC__ACCOUNT_VIEW__INIT;

	a.owner_store = "S1";
	a.owner_key = "R-1";
	a.contract_no = "";
	a.customer = "CUST-S";
	a.owner_since_ms = 1000;
	owner_is(&a, 999, "", "", "");
	owner_is(&a, 1000, "S1", "", "CUST-S");
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { contract_with_its_earliest_sale_known,
		contract_an_older_hub_wrote, a_sale_owner_before_its_sale_is_none };

	return tl_run("account_owner", tests, sizeof tests / sizeof tests[0], 10);
}

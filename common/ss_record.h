/* ss_record: facts about a Record that every part of the system must agree on. */
#ifndef SS_RECORD_H
#define SS_RECORD_H

#include <stdint.h>

#include "ss_proto.h"

/* Signed money the record moved, in fen: sales, contract deposits and
 * payments positive; refunds and complaint compensation negative; other
 * kinds 0. This is the figure the hub sums into each store's amount_fen. */
int64_t ss_record_amount_fen(const Storesync__Record *r);

/* JSON Lines "type" of a record body ("sale", "contract_sale", ...), or NULL. */
const char *ss_record_type_name(Storesync__Record__BodyCase body);

/* Leaves out the optional fields that hold their default (a discount or
 * deposit of 0, an empty customer, ...: docs/records.md), so a record that
 * writes a default out hashes and stores as one that leaves it out. Called
 * on a valid record before its business key's hash. An emptied string is
 * left to r's allocator (the agent's round arena), not freed here. */
void ss_record_drop_defaults(Storesync__Record *r);

#endif

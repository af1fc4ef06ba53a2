//! CustomerService, and the seeds' InsertCustomer and GetCustomerByID.

use prost_types::FieldMask;
use support_service::pb::{self, ConversationMode, CustomerTier, Severity};
use tonic::Code;

use crate::helpers::{bad_fields, spawn_app};

#[tokio::test]
async fn insert_customer() {
    let mut app = spawn_app().await;
    let c = pb::Customer {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: "Ada@Example.com".into(),
        phone: "+44 20 7946 0000".into(),
        location: "London".into(),
        tier: CustomerTier::Paid.into(),
        ..Default::default()
    };
    let created = app
        .customers
        .create_customer(pb::CreateCustomerRequest { customer: Some(c), request_id: String::new() })
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(created.email, "ada@example.com", "stored lower-cased");
    assert_eq!(created.tier, CustomerTier::Paid as i32);
    assert!(created.create_time.is_some());
}

#[tokio::test]
async fn get_customer_by_id() {
    let mut app = spawn_app().await;
    let c = app.customer("grace@example.com", CustomerTier::Enterprise).await;
    let got =
        app.customers.get_customer(pb::GetCustomerRequest { id: c.id }).await.unwrap().into_inner().customer.unwrap();
    assert_eq!(got, c);
    let err = app.customers.get_customer(pb::GetCustomerRequest { id: c.id + 100 }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn emails_are_unique_and_validated() {
    let mut app = spawn_app().await;
    app.customer("ada@example.com", CustomerTier::Free).await;
    let dup = pb::Customer {
        first_name: "A".into(),
        last_name: "B".into(),
        email: "ADA@example.com".into(),
        ..Default::default()
    };
    let err = app
        .customers
        .create_customer(pb::CreateCustomerRequest { customer: Some(dup), request_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    let bad = pb::Customer {
        first_name: "A".into(),
        last_name: "B".into(),
        email: "not-an-email".into(),
        phone: "call me".into(),
        tier: 42,
        ..Default::default()
    };
    let err = app
        .customers
        .create_customer(pb::CreateCustomerRequest { customer: Some(bad), request_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["customer.email", "customer.phone", "customer.tier"]);
    let err = app
        .customers
        .create_customer(pb::CreateCustomerRequest { customer: None, request_id: String::new() })
        .await
        .unwrap_err();
    assert!(bad_fields(&err).contains(&"customer".to_owned()));
}

#[tokio::test]
async fn list_customers_filters_by_email_and_tier() {
    let mut app = spawn_app().await;
    app.customer("a@example.com", CustomerTier::Free).await;
    let b = app.customer("b@example.com", CustomerTier::Enterprise).await;
    app.customer("c@example.com", CustomerTier::Enterprise).await;
    let by_tier = app
        .customers
        .list_customers(pb::ListCustomersRequest { tier: CustomerTier::Enterprise.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_tier.customers.len(), 2);
    let by_email = app
        .customers
        .list_customers(pb::ListCustomersRequest { email: "B@example.com".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_email.customers, vec![b]);
}

#[tokio::test]
async fn tier_change_rescores_open_tickets() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 3).await;
    assert_eq!(t.priority.as_ref().unwrap().score, 3 + 1 + 3);

    let change =
        pb::Customer { id: c.id, tier: CustomerTier::Enterprise.into(), etag: c.etag.clone(), ..Default::default() };
    let updated = app
        .customers
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(change),
            update_mask: Some(FieldMask { paths: vec!["tier".into()] }),
        })
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();
    assert_eq!(updated.tier, CustomerTier::Enterprise as i32);
    let t = app.tickets.get_ticket(pb::GetTicketRequest { id: t.id }).await.unwrap().into_inner().ticket.unwrap();
    let p = t.priority.unwrap();
    assert_eq!(p.score, 3 + 5 + 3);
    assert_eq!(p.breakdown.unwrap().tier_points, 5);
    assert_eq!(p.level, pb::PriorityLevel::P1 as i32);

    // The etag read before the change is stale now.
    let stale = pb::Customer { id: c.id, location: "Paris".into(), etag: c.etag, ..Default::default() };
    let err = app
        .customers
        .update_customer(pb::UpdateCustomerRequest { customer: Some(stale), update_mask: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
}

#[tokio::test]
async fn a_customer_opts_out_of_email_herself_and_agents_cannot_do_it_for_her() {
    use support_service::domain::AgentRole;
    use support_service::domain::access::Principal;
    let mut app = spawn_app().await;
    let c = app.customer("ann@example.com", CustomerTier::Free).await;
    assert!(!c.email_opt_out, "mail is on by default");
    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let a = app.agent("grace@example.com", d).await.id;
    app.ticket(c.id, d, Severity::Minor, 1).await;
    let opt_out = |on: bool| pb::UpdateCustomerRequest {
        customer: Some(pb::Customer { id: c.id, email_opt_out: on, ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["email_opt_out".into()] }),
    };
    let mut agent = app.as_(&Principal::agent(a, AgentRole::Agent, d));
    let refused = agent.customers.update_customer(opt_out(true)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut herself = app.as_(&Principal::customer(c.id));
    let off = herself.customers.update_customer(opt_out(true)).await.unwrap().into_inner().customer.unwrap();
    assert!(off.email_opt_out);
    let on = herself.customers.update_customer(opt_out(false)).await.unwrap().into_inner().customer.unwrap();
    assert!(!on.email_opt_out, "and back in: the mask names the field, so false is applied");
}

//! DepartmentService, and the seed's InsertDepartment.

use prost_types::FieldMask;
use support_service::pb::{self, ConversationMode};
use tonic::Code;

use crate::helpers::{bad_fields, spawn_app};

#[tokio::test]
async fn insert_department() {
    let mut app = spawn_app().await;
    let d = app.department("Billing", ConversationMode::Ticket).await;
    assert!(d.id > 0);
    assert_eq!(d.name, "Billing");
    assert_eq!(d.conversation_mode, ConversationMode::Ticket as i32);
    let got = app.departments.get_department(pb::GetDepartmentRequest { id: d.id }).await.unwrap().into_inner();
    assert_eq!(got.department.unwrap(), d);
}

#[tokio::test]
async fn department_names_are_unique_and_validated() {
    let mut app = spawn_app().await;
    app.department("Billing", ConversationMode::Chat).await;
    let dup = pb::Department {
        name: "Billing".into(),
        conversation_mode: ConversationMode::Chat.into(),
        ..Default::default()
    };
    let err = app
        .departments
        .create_department(pb::CreateDepartmentRequest { department: Some(dup), request_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");

    let bad = pb::Department { name: "  ".into(), ..Default::default() };
    let err = app
        .departments
        .create_department(pb::CreateDepartmentRequest { department: Some(bad), request_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["department.name", "department.conversation_mode"]);
}

#[tokio::test]
async fn create_with_request_id_is_idempotent() {
    let mut app = spawn_app().await;
    let req = pb::CreateDepartmentRequest {
        department: Some(pb::Department {
            name: "Returns".into(),
            conversation_mode: ConversationMode::Chat.into(),
            ..Default::default()
        }),
        request_id: "3f1c9a52-retry".into(),
    };
    let first = app.departments.create_department(req.clone()).await.unwrap().into_inner();
    let again = app.departments.create_department(req.clone()).await.unwrap().into_inner();
    assert_eq!(first, again);
    let all = app.departments.list_departments(pb::ListDepartmentsRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.departments.len(), 1);

    let mut other = req;
    other.department.as_mut().unwrap().name = "Something else".into();
    let err = app.departments.create_department(other).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["request_id"]);
}

#[tokio::test]
async fn update_department_with_mask_and_etag() {
    let mut app = spawn_app().await;
    let d = app.department("Billing", ConversationMode::Ticket).await;
    let mut change = d.clone();
    change.description = "Invoices and refunds".into();
    change.conversation_mode = ConversationMode::Chat.into();
    let updated = app
        .departments
        .update_department(pb::UpdateDepartmentRequest {
            department: Some(change.clone()),
            update_mask: Some(FieldMask { paths: vec!["description".into()] }),
        })
        .await
        .unwrap()
        .into_inner()
        .department
        .unwrap();
    assert_eq!(updated.description, "Invoices and refunds");
    assert_eq!(updated.conversation_mode, ConversationMode::Ticket as i32, "not in the mask");
    assert_ne!(updated.etag, d.etag);

    // The old etag is stale now.
    let err = app
        .departments
        .update_department(pb::UpdateDepartmentRequest {
            department: Some(change.clone()),
            update_mask: Some(FieldMask { paths: vec!["conversation_mode".into()] }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");

    let err = app
        .departments
        .update_department(pb::UpdateDepartmentRequest {
            department: Some(pb::Department { id: d.id, ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["id".into()] }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["update_mask"]);
}

#[tokio::test]
async fn list_departments_pages_without_gaps_or_repeats() {
    let mut app = spawn_app().await;
    for i in 0..7 {
        app.department(&format!("Dept {i}"), ConversationMode::Chat).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .departments
            .list_departments(pb::ListDepartmentsRequest { page_size: 3, page_token: token })
            .await
            .unwrap()
            .into_inner();
        assert!(page.departments.len() <= 3);
        seen.extend(page.departments.into_iter().map(|d| d.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 7);

    let err = app
        .departments
        .list_departments(pb::ListDepartmentsRequest { page_size: -1, page_token: String::new() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_size"]);
    let err = app
        .departments
        .list_departments(pb::ListDepartmentsRequest { page_size: 1, page_token: "garbage".into() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_token"]);
}

#[tokio::test]
async fn missing_department_is_not_found() {
    let mut app = spawn_app().await;
    let err = app.departments.get_department(pb::GetDepartmentRequest { id: 999 }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = app.departments.get_department(pb::GetDepartmentRequest { id: 0 }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["id"]);
}

//! AgentService, and the seeds' InsertSupportAgent, GetAgentDetailsByAgentID,
//! GetAgentsByDepartmentID and GetTicketCountByAgent.

use prost_types::FieldMask;
use support_service::pb::{self, AgentRole, Availability, ConversationMode, CustomerTier, Severity, TicketStatus};
use tonic::Code;

use crate::helpers::{bad_fields, spawn_app, spawn_with};

#[tokio::test]
async fn insert_support_agent() {
    let mut app = spawn_app().await;
    let d = app.department("Billing", ConversationMode::Ticket).await;
    let a = app.agent("grace@support.example", d.id).await;
    assert!(a.id > 0);
    assert_eq!(a.department_id, d.id);
    assert_eq!(a.role, AgentRole::Agent as i32, "role defaults to AGENT");
    assert_eq!(a.availability, Availability::Active as i32, "availability defaults to ACTIVE");

    let orphan = pb::Agent {
        first_name: "X".into(),
        last_name: "Y".into(),
        email: "x@y.example".into(),
        department_id: 999,
        ..Default::default()
    };
    let err = app
        .agents
        .create_agent(pb::CreateAgentRequest { agent: Some(orphan), request_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = app
        .agents
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent { email: "grace@support.example".into(), ..Default::default() }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["agent.first_name", "agent.last_name", "agent.department_id"]);
}

#[tokio::test]
async fn get_agent_details_by_agent_id() {
    let mut app = spawn_app().await;
    let d = app.department("Billing", ConversationMode::Ticket).await;
    let a = app.agent("grace@support.example", d.id).await;
    let got = app.agents.get_agent(pb::GetAgentRequest { id: a.id }).await.unwrap().into_inner();
    assert_eq!(got.agent.unwrap(), a);
    assert_eq!(got.department.unwrap(), d);
    let err = app.agents.get_agent(pb::GetAgentRequest { id: a.id + 1 }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn get_agents_by_department_id() {
    let mut app = spawn_app().await;
    let billing = app.department("Billing", ConversationMode::Ticket).await;
    let tech = app.department("Tech", ConversationMode::Chat).await;
    let a1 = app.agent("a1@support.example", billing.id).await;
    app.agent("t1@support.example", tech.id).await;
    let a2 = app.agent("a2@support.example", billing.id).await;
    let list = app
        .agents
        .list_agents(pb::ListAgentsRequest { department_id: billing.id, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.agents.iter().map(|a| a.id).collect::<Vec<_>>(), vec![a1.id, a2.id]);

    app.agents
        .set_agent_availability(pb::SetAgentAvailabilityRequest { id: a2.id, availability: Availability::Off.into() })
        .await
        .unwrap();
    let active = app
        .agents
        .list_agents(pb::ListAgentsRequest {
            department_id: billing.id,
            availability: Availability::Active.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.agents.iter().map(|a| a.id).collect::<Vec<_>>(), vec![a1.id]);
}

#[tokio::test]
async fn get_ticket_count_by_agent() {
    let mut app = spawn_with(|s| s.auto_assign = false).await;
    let d = app.department("Billing", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a = app.agent("grace@support.example", d.id).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
        app.assign(t.id, a.id).await.unwrap();
        ids.push(t.id);
    }
    let elsewhere = app.department("Elsewhere", ConversationMode::Chat).await;
    app.ticket(c.id, elsewhere.id, Severity::Minor, 1).await; // not the agent's: not counted
    app.set_status(ids[0], TicketStatus::InProgress).await.unwrap();
    app.set_status(ids[0], TicketStatus::Resolved).await.unwrap();

    let w = app.agents.get_agent_workload(pb::GetAgentWorkloadRequest { id: a.id }).await.unwrap().into_inner();
    let count = |s: TicketStatus| w.counts.iter().find(|c| c.status == s as i32).map(|c| c.count).unwrap();
    assert_eq!(count(TicketStatus::Open), 2);
    assert_eq!(count(TicketStatus::Resolved), 1);
    assert_eq!(count(TicketStatus::InProgress), 0);
    assert_eq!(count(TicketStatus::Closed), 0);
    assert_eq!((w.total, w.open_total), (3, 3));

    let err = app.agents.get_agent_workload(pb::GetAgentWorkloadRequest { id: 12345 }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn update_agent_and_availability() {
    let mut app = spawn_app().await;
    let d = app.department("Billing", ConversationMode::Chat).await;
    let other = app.department("Tech", ConversationMode::Chat).await;
    let a = app.agent("grace@support.example", d.id).await;
    let change = pb::Agent {
        id: a.id,
        department_id: other.id,
        role: AgentRole::Supervisor.into(),
        etag: a.etag.clone(),
        ..Default::default()
    };
    let updated = app
        .agents
        .update_agent(pb::UpdateAgentRequest {
            agent: Some(change),
            update_mask: Some(FieldMask { paths: vec!["department_id".into(), "role".into()] }),
        })
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_eq!((updated.department_id, updated.role), (other.id, AgentRole::Supervisor as i32));

    let err = app
        .agents
        .set_agent_availability(pb::SetAgentAvailabilityRequest {
            id: a.id,
            availability: Availability::Unspecified.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["availability"]);
    let off = app
        .agents
        .set_agent_availability(pb::SetAgentAvailabilityRequest { id: a.id, availability: Availability::Off.into() })
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    assert_eq!(off.availability, Availability::Off as i32);
}

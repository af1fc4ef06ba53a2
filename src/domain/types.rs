//! The closed sets of values the domain works with. Each has one stored name (the text
//! kept in the database) and parses back from it.

/// Defines an enum with its stored names and a parser.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a stored name.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// As its stored name, so stored JSON reads like the tables.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("{text:?} is not a {}", stringify!($name)))
                })
            }
        }
    };
}

pub(crate) use stored_enum;

stored_enum!(
    /// How customers and agents take turns on a department's tickets.
    ConversationMode {
        /// One customer message after each agent message.
        Ticket => "TICKET",
        /// Free exchange.
        Chat => "CHAT",
    }
);

stored_enum!(
    /// A customer's plan.
    Tier {
        /// Free plan.
        Free => "FREE",
        /// Paid plan.
        Paid => "PAID",
        /// Enterprise contract.
        Enterprise => "ENTERPRISE",
    }
);

stored_enum!(
    /// An agent's role.
    AgentRole {
        /// Works tickets.
        Agent => "AGENT",
        /// Works tickets and oversees the department.
        Supervisor => "SUPERVISOR",
    }
);

stored_enum!(
    /// Whether an agent takes new work.
    Availability {
        /// On shift.
        Active => "ACTIVE",
        /// Off shift.
        Off => "OFF",
    }
);

stored_enum!(
    /// What a ticket is about.
    Category {
        /// Sign-in and account problems.
        AccountAccess => "ACCOUNT_ACCESS",
        /// A defect.
        BugReport => "BUG_REPORT",
        /// An order to cancel.
        OrderCancellation => "ORDER_CANCELLATION",
        /// A charge too high.
        OverchargedTransaction => "OVERCHARGED_TRANSACTION",
        /// Goods that never arrived.
        UndeliveredGoods => "UNDELIVERED_GOODS",
        /// The wrong goods.
        WrongOrder => "WRONG_ORDER",
        /// Anything else.
        Other => "OTHER",
    }
);

stored_enum!(
    /// How badly the problem hurts.
    Severity {
        /// Blocks the customer.
        Critical => "CRITICAL",
        /// Serious, with a workaround.
        Major => "MAJOR",
        /// An annoyance.
        Minor => "MINOR",
    }
);

stored_enum!(
    /// Where a ticket stands in its workflow.
    Status {
        /// No agent has answered yet.
        Open => "OPEN",
        /// Being worked.
        InProgress => "IN_PROGRESS",
        /// Solved in the agent's view.
        Resolved => "RESOLVED",
        /// Final.
        Closed => "CLOSED",
    }
);

stored_enum!(
    /// A priority band; P0 is the most urgent.
    Level {
        /// Most urgent.
        P0 => "P0",
        /// Urgent.
        P1 => "P1",
        /// Normal.
        P2 => "P2",
        /// Low.
        P3 => "P3",
    }
);

stored_enum!(
    /// Who wrote a message.
    SenderKind {
        /// The ticket's customer.
        Customer => "CUSTOMER",
        /// A support agent.
        Agent => "AGENT",
        /// The service itself.
        System => "SYSTEM",
    }
);

stored_enum!(
    /// Who may read a message.
    Visibility {
        /// Everyone on the ticket.
        Public => "PUBLIC",
        /// Agents only.
        Internal => "INTERNAL",
    }
);

stored_enum!(
    /// How far a message has travelled.
    DeliveryStatus {
        /// Stored.
        Sent => "SENT",
        /// Delivered.
        Received => "RECEIVED",
        /// Read.
        Read => "READ",
    }
);

stored_enum!(
    /// The customer's verdict on closing.
    Feedback {
        /// Satisfied.
        Satisfied => "SATISFIED",
        /// Not satisfied.
        NotSatisfied => "NOT_SATISFIED",
    }
);

stored_enum!(
    /// Why a ticket went to its agent.
    AssignmentReason {
        /// Chosen by a person.
        Manual => "MANUAL",
        /// The least-loaded active agent.
        AutoLeastLoaded => "AUTO_LEAST_LOADED",
        /// Handed out from the backlog.
        BacklogDrain => "BACKLOG_DRAIN",
        /// Taken over from an agent who was OFF when the customer wrote.
        Handover => "HANDOVER",
    }
);

impl Status {
    /// True for every status before CLOSED.
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Level::parse("P4"), None);
    }
}

//! The domain's enums as column types: each is stored as its stored name (the text the
//! schema already holds, defined once by `domain::types`), so entity columns are typed and
//! comparisons in queries take the enum itself. The domain stays free of sea_orm: the
//! traits sea-orm's `DeriveActiveEnum` would generate are implemented here, for the
//! domain's types (the same crate).

use sea_orm::sea_query::{self, ArrayType, ColumnType, Nullable, StringLen, Value, ValueType, ValueTypeErr};
use sea_orm::{ActiveEnum, ColIdx, ColumnDef, ColumnTypeTrait, DbErr, QueryResult, TryGetError, TryGetable};

use crate::domain::call::{CallOutcome, CallState};
use crate::domain::event::EventKind;
use crate::domain::{
    AgentRole, AssignmentReason, Availability, Category, ConversationMode, DeliveryStatus, Feedback, Level, SenderKind,
    Severity, Status, Tier, Visibility,
};

macro_rules! stored_column {
    ($($name:ident),+ $(,)?) => {$(
        impl sea_orm::strum::IntoEnumIterator for $name {
            type Iterator = std::iter::Copied<std::slice::Iter<'static, $name>>;

            fn iter() -> Self::Iterator {
                $name::ALL.iter().copied()
            }
        }

        impl ActiveEnum for $name {
            type Value = String;
            type ValueVec = Vec<String>;

            fn name() -> sea_query::DynIden {
                sea_query::Alias::new(stringify!($name)).into()
            }

            fn to_value(&self) -> String {
                self.as_str().to_owned()
            }

            fn try_from_value(v: &String) -> Result<Self, DbErr> {
                $name::parse(v).ok_or_else(|| DbErr::Type(format!("unexpected stored {}: {v:?}", stringify!($name))))
            }

            fn db_type() -> ColumnDef {
                ColumnType::String(StringLen::None).def()
            }
        }

        impl From<$name> for Value {
            fn from(v: $name) -> Value {
                Value::String(Some(v.as_str().to_owned()))
            }
        }

        impl TryGetable for $name {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                let text = <String as TryGetable>::try_get_by(res, idx)?;
                <$name as ActiveEnum>::try_from_value(&text).map_err(TryGetError::DbErr)
            }
        }

        impl ValueType for $name {
            fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
                let text = <String as ValueType>::try_from(v)?;
                $name::parse(&text).ok_or(ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($name).to_owned()
            }

            fn array_type() -> ArrayType {
                ArrayType::String
            }

            fn column_type() -> ColumnType {
                ColumnType::String(StringLen::None)
            }
        }

        impl Nullable for $name {
            fn null() -> Value {
                Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    )+};
}

stored_column!(
    AgentRole,
    CallOutcome,
    CallState,
    AssignmentReason,
    Availability,
    Category,
    ConversationMode,
    DeliveryStatus,
    EventKind,
    Feedback,
    Level,
    SenderKind,
    Severity,
    Status,
    Tier,
    Visibility,
);

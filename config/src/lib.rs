//! The vtepgw configuration: the typed model of the TOML file, parsing with
//! field paths in errors, whole-config validation and the MTU rules. The
//! file, the REST API and the CLI all go through this crate.

mod l3;
mod l3_model;
mod l3_route;
mod model;
pub mod mtu;
pub mod multicast;
mod types;
mod validate;

pub use l3_model::{
    derived_gateway_mac, prefix_mask, ArpSuppression, Icmp, Ipv4Prefix, Neighbour, RoutedInterface,
    StaticNeighbour, StaticRoute, VniGateway, Vrf, DEFAULT_VRF,
};
pub use model::{
    Config, Dataplane, Igmp, IgmpVersion, Management, MtuCheck, PortConfig, StaticMac, Underlay,
    VlanBinding, VniConfig,
};
pub use types::{Ipv4Cidr, MacAddr, PortRange};
pub use validate::{MAX_BURST, MAX_VNI};

use std::fmt;
use std::path::Path;

/// One problem with a config, located by the path of its field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// e.g. `vni[1].flood[0]`; empty for the document as a whole.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Every problem found in a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", lines.join("; "))
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    fn one(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigErrors(vec![ConfigError {
            path: path.into(),
            reason: reason.into(),
        }])
    }
}

/// Something legal but probably unintended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigWarning {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Config {
    /// Parses TOML without validating; errors name the field.
    pub fn parse_toml(text: &str) -> Result<Config, ConfigErrors> {
        let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e, ""))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            toml_error(text, e.inner(), &path)
        })
    }

    /// Parses and validates TOML.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        let config = Config::parse_toml(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file without validating it.
    pub fn read(path: &Path) -> Result<Config, ConfigErrors> {
        let bytes = std::fs::read(path)
            .map_err(|e| ConfigErrors::one("", format!("cannot read {}: {e}", path.display())))?;
        Config::parse_toml(&utf8(&bytes)?)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let config = Config::read(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the whole config; returns warnings, or every error.
    pub fn validate(&self) -> Result<Vec<ConfigWarning>, ConfigErrors> {
        validate::validate(self)
    }

    /// The config in the file's form.
    pub fn to_toml_string(&self) -> String {
        // Every field serialises to a TOML value; this cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// The file as text; TOML is UTF-8, so anything else is refused with
/// where it stops being UTF-8.
fn utf8(bytes: &[u8]) -> Result<String, ConfigErrors> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        ConfigErrors::one(
            "",
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at byte offset {at} (line {line})",
                bytes[at]
            ),
        )
    })
}

/// A TOML or type error as a path plus a reason with the line number.
fn toml_error(text: &str, e: &toml::de::Error, path: &str) -> ConfigErrors {
    let message = e.message().trim().to_string();
    let reason = match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{message} (line {line})")
        }
        None => message,
    };
    ConfigErrors::one(path, reason)
}

#[cfg(test)]
mod l3_tests;
#[cfg(test)]
mod tests;
